// The thank-you page's share buttons, where the browser can: the system's own share sheet
// (the Web Share API, on phones mostly) and "copy the link". Without JavaScript, or without
// these APIs, the plain links beside them still work. Nothing from another site is loaded.
(function () {
  "use strict";
  var box = document.querySelector(".share-buttons");
  if (!box) { return; }
  var shared = {title: box.dataset.title, text: box.dataset.text, url: box.dataset.url};
  var status = document.querySelector(".share-status");
  var native = box.querySelector(".share-native");
  var copy = box.querySelector(".share-copy");
  if (navigator.share && (!navigator.canShare || navigator.canShare(shared))) {
    native.hidden = false;
    native.addEventListener("click", function () {
      navigator.share(shared).catch(function () { /* closed by the supporter */ });
    });
  }
  if (navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(shared.url).then(function () {
        status.textContent = box.dataset.copied;
      });
    });
  }
}());
