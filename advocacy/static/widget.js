// In a partner's frame: tell the page around it how tall this page is, so that the snippet's
// script (campaigns/partners.embed_snippet) sizes the frame to it and nothing scrolls inside.
// Only a height is sent, so any page may read it ("*"); the snippet checks where it came from.
(function () {
  "use strict";
  if (window.parent === window) { return; }
  document.documentElement.classList.add("framed");
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({advocacyHeight: height}, "*");
    }
  }
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.documentElement); }
  window.addEventListener("load", report);
  document.addEventListener("toggle", report, true);
  report();
}());
