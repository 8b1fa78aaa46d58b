// "Choose all": a checkbox in a table's head ticks or clears every letter of its form.
document.addEventListener("change", (event) => {
  const all = event.target;
  if (!all.matches || !all.matches("input.select-all")) return;
  for (const box of all.form.querySelectorAll("input[type=checkbox][name=letter]")) {
    box.checked = all.checked;
  }
});
