// Koyomi GUI helpers: small, dependency-free. Drawing lives in editor.js.
(function () {
  "use strict";
  // Confirm destructive actions: <form data-confirm="Kill job load?">.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f && f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
      ev.preventDefault();
    }
  }, true);

  // A select with data-shows="X" shows only the elements with
  // data-shown-by="X" whose data-shown-for is its value (the fields of the
  // chosen kind); hidden ones are disabled, so they are not submitted.
  function applyShows(sel) {
    document.querySelectorAll('[data-shown-by="' + sel.dataset.shows + '"]').forEach(function (el) {
      var on = el.dataset.shownFor === sel.value;
      el.hidden = !on;
      if (el.tagName === "FIELDSET") { el.disabled = !on; }
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.dataset && ev.target.dataset.shows) { applyShows(ev.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-shows]").forEach(applyShows);
  });
})();
