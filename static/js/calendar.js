// Calendar editor and schedule preview: small behaviours that need script.
(function () {
  "use strict";

  // Show the fields of the chosen rule kind.
  document.addEventListener("change", function (e) {
    var sel = e.target.closest("[data-rule-kind]");
    if (sel) {
      var fs = sel.closest(".rule");
      if (fs) fs.setAttribute("data-kind", sel.value);
    }
  });

  document.addEventListener("click", function (e) {
    // A run day shows its explanation.
    var day = e.target.closest("[data-explain]");
    if (day) {
      var box = document.getElementById("run-detail");
      if (box) box.textContent = day.getAttribute("data-explain");
      return;
    }
    // Cancel in the day form empties the panel.
    if (e.target.closest("[data-close-day]")) {
      var panel = document.getElementById("day-panel");
      if (panel) panel.innerHTML = "";
    }
  });

  // Mark the rule fields the preview found problems with.
  function markProblems() {
    var form = document.getElementById("sched-form");
    if (!form) return;
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); el.removeAttribute("title"); });
    document.querySelectorAll("#sched-problems li[data-field], [data-testid=sched-problems] li[data-field]").forEach(function (li) {
      var name = li.getAttribute("data-field").replace(/\[\d+\]$/, "");
      var el = form.querySelector('[name="' + CSS.escape(name) + '"]');
      if (el) { el.classList.add("invalid"); el.title = li.textContent; }
    });
  }
  document.addEventListener("htmx:afterSwap", markProblems);
})();
