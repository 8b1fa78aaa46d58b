// "Choose all": a checkbox in a table's head ticks or clears every letter of its form.
document.addEventListener("change", (event) => {
  const all = event.target;
  if (!all.matches || !all.matches("input.select-all")) return;
  for (const box of all.form.querySelectorAll("input[type=checkbox][name=letter]")) {
    box.checked = all.checked;
  }
});

// Recovery codes (shown once): "Print" and "Copy", shown only where they can work.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
document.querySelectorAll("[data-copy]").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const list = document.getElementById(button.dataset.copy);
    const text = [...list.querySelectorAll("code")].map((c) => c.textContent).join("\n");
    navigator.clipboard.writeText(text + "\n").then(() => {
      const said = button.parentElement.querySelector(".copied");
      if (said) said.textContent = button.dataset.copied;
    });
  });
});
