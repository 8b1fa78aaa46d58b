// The official's form (admin): when the country, the office or the holder's salutation
// changes, the server's suggestions (time zones, key, salutations) and the preview of how the
// letters open are fetched and shown here. Without JavaScript the "Suggest" button does it.
(function () {
  "use strict";
  var form = document.getElementById("official-form");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var timer = null;
  var pending = null;

  function take(page, id) {
    var fresh = page.getElementById(id);
    var here = document.getElementById(id);
    if (fresh && here) { here.replaceWith(fresh); }
  }

  function fillEmpty(page, name) {
    var fresh = page.querySelector("[name='" + name + "']");
    var here = form.querySelector("[name='" + name + "']");
    // Only what nobody typed in: empty, or still what the page offered.
    if (fresh && here && document.activeElement !== here &&
        (!here.value.trim() || here.value === here.defaultValue)) {
      here.value = here.defaultValue = fresh.value;
    }
  }

  function refresh(zones) {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var data = new FormData(form);
    data.set("action", "suggest");
    fetch(form.getAttribute("action") || window.location.href,
          {method: "POST", body: data, signal: pending.signal, credentials: "same-origin"})
      .then(function (reply) { if (!reply.ok) { throw new Error(reply.status); } return reply.text(); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        if (zones) { take(page, "timezone-field"); take(page, "languages-field"); }
        take(page, "salutation-preview");
        form.querySelectorAll("input[name^='salutation_']").forEach(function (input) {
          fillEmpty(page, input.name);
        });
      })
      .catch(function () { /* the Suggest button still works */ });
  }

  function later(zones) {
    clearTimeout(timer);
    timer = setTimeout(function () { refresh(zones); }, 300);
  }

  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "country") { later(true); }
    else if (name === "holder_gender" || name === "body" || name === "office") { later(false); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name && event.target.name.indexOf("salutation_") === 0) { later(false); }
  });
  var key = document.getElementById("key");
  var office = document.getElementById("office");
  if (key && office) {  // a new official: the key is suggested from its name, still editable
    office.addEventListener("change", function () {
      if (key.value.trim()) { return; }
      var data = new FormData(form);
      data.set("action", "suggest");
      fetch(window.location.href, {method: "POST", body: data, credentials: "same-origin"})
        .then(function (reply) { return reply.ok ? reply.text() : ""; })
        .then(function (text) {
          var fresh = text && new DOMParser().parseFromString(text, "text/html").getElementById("key");
          if (fresh && !key.value.trim()) { key.placeholder = fresh.value; }
        })
        .catch(function () {});
    });
  }
})();
