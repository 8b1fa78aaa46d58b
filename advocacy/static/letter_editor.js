// The letter editor (admin): the preview follows what is typed, rendered by the server with
// the code that sends letters. Without JavaScript the "Preview" button does the same.
(function () {
  "use strict";
  var form = document.getElementById("letter-editor");
  var target = document.getElementById("letter-preview");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  var pending = null;

  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.dataset.previewUrl, {method: "POST", body: new FormData(form),
                                    signal: pending.signal, credentials: "same-origin",
                                    headers: {"Accept": "application/json"}})
      .then(function (reply) { if (!reply.ok) { throw new Error(reply.status); } return reply.json(); })
      .then(function (part) {
        target.innerHTML = part.html;  // escaped by the server's templates
        form.classList.toggle("does-not-render", !part.ok);
      })
      .catch(function () { /* the Preview button still works */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[value=preview]");
    if (button) { event.preventDefault(); refresh(); }
  });
})();

// Placeholders inserted at the cursor, in the subject, the other subjects or the text (the
// last of them used; the text by default), from the list the renderer supports.
(function () {
  "use strict";
  var bar = document.getElementById("insert-placeholders");
  if (!bar) { return; }
  var fields = ["subject", "subject_variants", "body"].map(function (id) {
    return document.getElementById(id);
  }).filter(Boolean);
  var last = document.getElementById("body");
  fields.forEach(function (field) {
    field.addEventListener("focus", function () { last = field; });
  });
  bar.hidden = false;
  bar.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-insert]");
    if (!button || !last) { return; }
    var text = button.dataset.insert;
    var start = last.selectionStart, end = last.selectionEnd;
    last.setRangeText(text, start, end, "end");
    last.focus();
    last.dispatchEvent(new Event("input", {bubbles: true}));  // the preview follows
  });
})();
