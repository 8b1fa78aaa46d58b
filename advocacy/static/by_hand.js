// The letter for an office that takes no email, improved where JavaScript runs; without it the
// text stays selectable and the browser's own Print command prints the letter.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button.copy-text").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = status.dataset.copied; }
      }, function () { field.select(); });
    });
  });
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
