// Operations pages: client-side filtering of a job log and keeping a tailed
// log scrolled to its end. No inline scripts (CSP); wired by data attributes.
(function () {
  "use strict";
  var original = new WeakMap();
  var LOG_KEEP = 2 * 1024 * 1024;

  function applyFilter(input) {
    var pre = document.querySelector(input.dataset.target);
    if (!pre) { return; }
    if (!original.has(pre) || input.value === "") {
      original.set(pre, pre.textContent);
    }
    var text = original.get(pre);
    var q = input.value.toLowerCase();
    if (q === "") { pre.textContent = text; return; }
    pre.textContent = text.split("\n").filter(function (l) {
      return l.toLowerCase().indexOf(q) >= 0;
    }).join("\n");
  }

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t && t.classList && t.classList.contains("ops-log-filter")) { applyFilter(t); }
  });

  // A tail appends raw text to the log; while a filter is active, fold the
  // new text into the unfiltered copy and filter again. Otherwise follow the
  // end of the log.
  var shownLen = 0;
  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var pre = document.getElementById("log-text");
    if (pre && ev.detail && ev.detail.target === pre) { shownLen = pre.textContent.length; }
  });
  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var pre = document.getElementById("log-text");
    if (!pre || !ev.detail || ev.detail.target !== pre) { return; }
    var filter = document.querySelector(".ops-log-filter");
    if (filter && filter.value !== "" && original.has(pre)) {
      original.set(pre, original.get(pre) + pre.textContent.slice(shownLen));
      applyFilter(filter);
      return;
    }
    original.delete(pre);
    // A job writing fast would grow the page without end: keep the last
    // LOG_KEEP characters (the download has the whole log).
    if (pre.textContent.length > LOG_KEEP) {
      var t = pre.textContent.slice(-LOG_KEEP);
      var nl = t.indexOf("\n");
      pre.textContent = nl >= 0 ? t.slice(nl + 1) : t;
    }
    pre.scrollTop = pre.scrollHeight;
  });

  // The day Gantt scrolls sideways so that "now" (or, on another day, the
  // first run that needs a look) sits in the middle of the visible axis.
  function centreGantt() {
    var box = document.querySelector(".gantt-scroll[data-now-x]");
    if (!box) { return; }
    var x = parseInt(box.dataset.nowX, 10);
    var label = parseInt(getComputedStyle(box.querySelector(".gantt")).getPropertyValue("--gantt-label"), 10) || 0;
    if (isNaN(x)) { return; }
    box.scrollLeft = Math.max(0, x - label - (box.clientWidth - label) / 2);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pre = document.getElementById("log-text");
    if (pre) { pre.scrollTop = pre.scrollHeight; }
    centreGantt();
  });
})();
