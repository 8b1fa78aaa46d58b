// The campaign page, improved where JavaScript runs; everything here also works without it.
// - the letter preview follows what is typed (rendered by the server: one renderer);
// - the country select shows only while a group chosen by country is ticked, and follows
//   the supporter's own country until chosen;
// - "Write now" takes the supporter to the first field;
// - the counter of delivered letters refreshes itself;
// - "Copy the letter" copies to the clipboard instead of opening a page;
// - the organizers' ideas for the supporter's paragraph follow the letter, and "Use this as a
//   start" copies one into the paragraph (never filled in unasked).
(function () {
  "use strict";
  var form = document.getElementById("letter-form");
  if (!form) { return; }
  document.documentElement.classList.add("js");

  var timer = null;
  var pending = null;

  function byId(id) { return document.getElementById(id); }

  function showCountry() {
    var field = byId("country-field");
    var box = form.querySelector("input[name=bodies][data-by-country]");
    if (box && field) { field.hidden = !box.checked; }
  }

  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var data = new FormData(form);
    data.delete("csrf_token");
    fetch(form.dataset.preview, {method: "POST", body: data, signal: pending.signal,
                                 headers: {"Accept": "application/json"}})
      .then(function (reply) { if (!reply.ok) { throw new Error(reply.status); } return reply.json(); })
      .then(function (part) {
        if (byId("officials").innerHTML !== part.officials) { byId("officials").innerHTML = part.officials; }
        byId("headers").innerHTML = part.headers;
        byId("own-mail").innerHTML = part.own_mail;
        byId("send-part").innerHTML = part.send;
        byId("letter-before").textContent = part.before;
        byId("letter-after").textContent = part.after;
        var lang = byId("language").value;
        byId("letter-before").lang = lang;
        byId("letter-after").lang = lang;
        form.querySelector(".note").hidden = !part.has_note && part.before !== "";
        form.querySelector(".your-place").hidden = form.querySelector(".note").hidden;
        // The ideas follow the letter's group and language; the paragraph stays as typed.
        var ideas = byId("suggestions");
        if (ideas && ideas.innerHTML !== part.suggestions) {
          ideas.innerHTML = part.suggestions;
          showIdeaButtons();
        }
        form.classList.add("live");
      })
      .catch(function () { /* the "Show the letter" button still works */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  function showIdeaButtons() {
    form.querySelectorAll("[data-idea]").forEach(function (button) { button.hidden = false; });
  }
  showIdeaButtons();
  // "Use this as a start": the idea goes into the paragraph (after what is typed), to edit.
  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-idea]") : null;
    var note = byId("personal_note");
    if (!button || !note) { return; }
    var typed = note.value.trim();
    note.value = (typed ? typed + "\n\n" : "") + button.getAttribute("data-idea");
    note.focus();
  });

  form.dataset.preview = form.getAttribute("data-preview-url") || "/preview";
  ["body", "country", "language", "name", "city", "supporter_country", "email"].forEach(function (id) {
    var field = byId(id);
    if (!field) { return; }
    field.addEventListener(field.tagName === "SELECT" ? "change" : "input", later);
  });
  Array.prototype.forEach.call(form.querySelectorAll("input[name=bodies]"), function (box) {
    box.addEventListener("change", showCountry);
  });
  showCountry();

  // The government defaults from the supporter's country, while none is chosen by hand.
  var government = byId("country"), home = byId("supporter_country");
  if (government && home) {
    var byHand = false;
    government.addEventListener("change", function () { byHand = government.value !== ""; });
    home.addEventListener("change", function () {
      if (byHand) { return; }
      if (government.querySelector("option[value='" + home.value + "']")) {
        government.value = home.value;
      }
      later();
    });
  }

  var writeNow = byId("write-now");
  if (writeNow) {
    writeNow.addEventListener("click", function (event) {
      event.preventDefault();
      byId("write").scrollIntoView({block: "start"});
      byId("name").focus({preventScroll: true});
    });
  }
  byId("sign_initials").addEventListener("change", later);

  // A supporter who gives the detaining country as theirs is told what writing may cost.
  // The page shows the notice until a country is chosen (so it reaches readers without
  // JavaScript); from here on it follows the choice.
  var risk = byId("risk-notice"), own = byId("supporter_country");
  if (risk && own) {
    var followChoice = function () { risk.hidden = own.value !== risk.dataset.country; };
    own.addEventListener("change", followChoice);
    followChoice();
  }

  // "Show the letter (their language)": switch the select, refresh in place.
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=switch_language]");
    if (button) {
      event.preventDefault();
      byId("language").value = button.value;
      refresh();
      byId("language").focus();
      return;
    }
    var copy = event.target.closest("button.copy");
    if (copy && navigator.clipboard) {
      event.preventDefault();
      var data = new FormData(form);
      data.delete("csrf_token");
      data.set("own_mail", copy.value);
      fetch(copy.getAttribute("formaction"), {method: "POST", body: data,
                                               headers: {"Accept": "application/json"}})
        .then(function (reply) { if (!reply.ok) { throw new Error(reply.status); } return reply.json(); })
        .then(function (letter) {
          var text = form.dataset.to + " " + letter.to + "\n" + form.dataset.subject + " " +
                     letter.subject + "\n\n" + letter.body;
          return navigator.clipboard.writeText(text);
        })
        .then(function () { byId("copy-status").textContent = form.dataset.copied; })
        .catch(function () { form.requestSubmit(copy); });
    }
  });

  // A wide screen has room for the story beside the form: unfolded there.
  var story = byId("story");
  if (story && window.matchMedia("(min-width: 60rem)").matches) { story.open = true; }

  // After a failed submit, take keyboard and screen-reader users to the list of problems.
  var summary = byId("error-summary");
  if (summary) { summary.focus(); }

  // The counter of delivered letters, every data-refresh seconds while the page is visible.
  var counter = document.querySelector(".counter");
  var count = byId("sent-count");
  if (counter && count && window.fetch) {
    var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
    setInterval(function () {
      if (document.hidden) { return; }
      fetch("/api/stats?campaign=" + encodeURIComponent(counter.dataset.campaign))
        .then(function (reply) { return reply.json(); })
        .then(function (stats) { count.textContent = format.format(stats.letters.sent); })
        .catch(function () {});
    }, 1000 * Number(counter.dataset.refresh || 30));
  }
})();
