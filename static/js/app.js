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
})();
