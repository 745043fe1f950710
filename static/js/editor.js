// Koyomi jobnet editor: draws the working definition (jobnet JSON) on an SVG
// canvas and edits it in place; the server validates and stores it.
(function () {
  "use strict";
  var root = document.getElementById("ed");
  if (!root) { return; }
  var SVGNS = "http://www.w3.org/2000/svg";
  var W = 150, H = 48, GRID = 10;
  var editable = root.dataset.editable === "true";
  var base = root.dataset.base;
  var version = root.dataset.version;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var def = JSON.parse(document.getElementById("ed-data").textContent);
  var svg = document.getElementById("ed-canvas");
  var gEdges = document.getElementById("ed-edges");
  var gUnits = document.getElementById("ed-units");
  var gOver = document.getElementById("ed-overlay");
  var props = document.getElementById("ed-props");
  var problemsBox = document.getElementById("ed-problems");
  var pop = document.getElementById("ed-edgepop");
  var crumbs = document.getElementById("ed-path");
  var yamlText = document.getElementById("ed-yaml");
  var yamlErrors = document.getElementById("ed-yaml-errors");
  var dirtyMark = document.getElementById("ed-dirty");

  var path = [];            // names of the nested units drilled into
  var sel = new Set();      // selected unit names of the current net
  var selEdge = -1;         // selected edge index of the current net
  var popEdge = -1;         // edge whose kind the popup edits
  var drag = null;
  var dirty = false, yamlStale = false, yamlEdited = false;
  var problemUnits = new Set();
  var emptyProps = props.innerHTML;
  var undoStack = [], redoStack = [], UNDO_MAX = 200;

  if (!def.units) { def.units = []; }

  // ---- model -------------------------------------------------------------
  function netAt(p) {
    var n = def;
    for (var i = 0; i < p.length; i++) {
      var u = findUnit(n, p[i]);
      if (!u) { return def; }
      if (!u.net) { u.net = { units: [] }; }
      n = u.net;
    }
    if (!n.units) { n.units = []; }
    if (!n.edges) { n.edges = []; }
    return n;
  }
  function net() { return netAt(path); }
  function findUnit(n, name) {
    for (var i = 0; i < (n.units || []).length; i++) {
      if (n.units[i].name === name) { return n.units[i]; }
    }
    return null;
  }
  function fullPath(name) { return path.concat([name]).join("/"); }
  function markDirty() {
    dirty = true; yamlStale = true; editSeq++;
    if (dirtyMark) { dirtyMark.hidden = false; }
  }
  function kindOf(e) { return e.kind || "normal"; }
  function freshName(kind) {
    var n = net(), i = 1;
    while (findUnit(n, kind + i)) { i++; }
    return kind + i;
  }
  function newUnit(kind, x, y) {
    var u = { name: freshName(kind), kind: kind, position: { x: x, y: y } };
    if (kind === "job") { u.job = { type: "local", local: { command: "" } }; }
    if (kind === "jobnet") { u.net = { units: [] }; }
    if (kind === "judgment") { u.judgment = { kind: "exit_code", op: "eq", value: "0" }; }
    if (kind === "wait") { u.wait = { jobnet: "" }; }
    return u;
  }
  function snap(v) { return Math.max(0, Math.round(v / GRID) * GRID); }

  // ---- drawing -----------------------------------------------------------
  function el(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function subtitle(u) {
    switch (u.kind) {
      case "job": return (u.job && u.job.type) || "job";
      case "jobnet": return "jobnet · " + ((u.net && u.net.units) ? u.net.units.length : 0) + " units";
      case "judgment": return "judgment" + (u.judgment ? " · " + u.judgment.kind : "");
      case "wait": return "wait" + (u.wait && u.wait.jobnet ? " · " + u.wait.jobnet : "");
    }
    return u.kind;
  }
  // clip shortens s to about n narrow characters; a wide (CJK) character counts as two.
  function clip(s, n) {
    var chars = Array.from(s), width = function (c) { return c.codePointAt(0) >= 0x2E80 ? 2 : 1; };
    var total = chars.reduce(function (a, c) { return a + width(c); }, 0);
    if (total <= n) { return s; }
    var w = 0, out = "";
    for (var i = 0; i < chars.length && w + width(chars[i]) <= n - 1; i++) { w += width(chars[i]); out += chars[i]; }
    return out + "…";
  }
  function render() {
    var n = net();
    gEdges.textContent = ""; gUnits.textContent = "";
    var maxX = 600, maxY = 400;
    n.units.forEach(function (u) {
      if (!u.position) { u.position = { x: 40, y: 40 }; }
      var x = u.position.x, y = u.position.y;
      maxX = Math.max(maxX, x + W + 80); maxY = Math.max(maxY, y + H + 80);
      var fp = fullPath(u.name);
      var bad = problemUnits.has(fp);
      var inner = false;
      problemUnits.forEach(function (p) { if (p.indexOf(fp + "/") === 0) { inner = true; } });
      var g = el("g", { "class": "ds-unit ds-u-" + u.kind + (sel.has(u.name) ? " sel" : "") + (bad ? " bad" : "") + (inner ? " bad-inside" : ""),
        transform: "translate(" + x + "," + y + ")", "data-name": u.name, "data-testid": "unit-" + u.name }, gUnits);
      if (u.kind === "judgment") {
        el("polygon", { "class": "ds-shape", points: "0," + H / 2 + " " + W / 2 + ",-6 " + W + "," + H / 2 + " " + W / 2 + "," + (H + 6) }, g);
      } else {
        el("rect", { "class": "ds-shape", width: W, height: H, rx: u.kind === "jobnet" ? 10 : 4 }, g);
        if (u.kind === "jobnet") { el("rect", { "class": "ds-inner", x: 4, y: 4, width: W - 8, height: H - 8, rx: 7 }, g); }
      }
      if (u.hold) { el("text", { "class": "ds-hold", x: W - 8, y: 14, "text-anchor": "end" }, g).textContent = "⏸"; }
      // A unit with a title shows it, with its name (the identifier) below.
      var t = el("text", { "class": "ds-name", x: W / 2, y: H / 2 - 3, "text-anchor": "middle", "data-testid": "unit-label-" + u.name }, g);
      t.textContent = clip(u.title || u.name, 20);
      var s = el("text", { "class": "ds-sub", x: W / 2, y: H / 2 + 12, "text-anchor": "middle" }, g);
      s.textContent = clip(u.title ? u.name + " · " + subtitle(u) : subtitle(u), 24);
      el("title", {}, g).textContent = (u.title ? u.title + "\n" : "") + u.name + (u.description ? "\n" + u.description : "");
      el("circle", { "class": "ds-port", cx: 0, cy: H / 2, r: 4 }, g);
      if (editable) { el("circle", { "class": "ds-handle", cx: W, cy: H / 2, r: 7, "data-handle": u.name, "data-testid": "handle-" + u.name }, g); }
    });
    n.edges.forEach(function (e, i) {
      var a = findUnit(n, e.from), b = findUnit(n, e.to);
      if (!a || !b) { return; }
      var k = kindOf(e);
      var d = edgePath(a.position, b.position);
      var g = el("g", { "class": "ds-edge ds-e-" + k + (i === selEdge ? " sel" : ""), "data-edge": i, "data-testid": "edge-" + e.from + "-" + e.to }, gEdges);
      el("path", { "class": "ds-edge-hit", d: d, "data-edge": i }, g);
      el("path", { "class": "ds-edge-line", d: d, "marker-end": "url(#arrow-" + k + ")", "data-edge": i }, g);
      if (k !== "normal") {
        var m = mid(a.position, b.position);
        el("text", { "class": "ds-edge-label", x: m.x, y: m.y - 6, "text-anchor": "middle" }, g).textContent = k;
      }
    });
    svg.setAttribute("height", Math.max(560, maxY));
    svg.style.minWidth = maxX + "px";
    renderCrumbs();
  }
  function edgePath(p, q) {
    var x1 = p.x + W, y1 = p.y + H / 2, x2 = q.x - 2, y2 = q.y + H / 2;
    if (x2 < x1 + 20) {
      // A backward edge loops below both units.
      var yb = loopFloor(p, q);
      return "M" + x1 + "," + y1 + " C" + (x1 + 50) + "," + y1 + " " + (x1 + 50) + "," + yb + " " + x1 + "," + yb +
        " L" + (x2 + 2) + "," + yb + " C" + (x2 - 50) + "," + yb + " " + (x2 - 50) + "," + y2 + " " + x2 + "," + y2;
    }
    var dx = Math.max(40, Math.abs(x2 - x1) / 2);
    return "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + y2 + " " + x2 + "," + y2;
  }
  function mid(p, q) {
    if (q.x - 2 < p.x + W + 20) { return { x: (p.x + W + q.x) / 2, y: loopFloor(p, q) }; }
    return { x: (p.x + W + q.x) / 2, y: (p.y + q.y + H) / 2 };
  }
  // loopFloor is the height below every unit between a backward edge's ends.
  function loopFloor(p, q) {
    var y = Math.max(p.y, q.y);
    net().units.forEach(function (u) {
      var r = u.position;
      if (r && r.x + W >= q.x && r.x <= p.x + W) { y = Math.max(y, r.y); }
    });
    return y + H + 24;
  }
  function renderCrumbs() {
    crumbs.textContent = "";
    var names = [crumbs.dataset.root].concat(path);
    names.forEach(function (nm, i) {
      if (i > 0) { var sp = document.createElement("span"); sp.className = "sep"; sp.textContent = "/"; crumbs.appendChild(sp); }
      var a = document.createElement(i === names.length - 1 ? "span" : "a");
      a.textContent = nm;
      if (i < names.length - 1) { a.href = "#"; a.dataset.depth = i; }
      crumbs.appendChild(a);
    });
    crumbs.hidden = path.length === 0;
  }

  // ---- geometry ----------------------------------------------------------
  function toSVG(ev) {
    var pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  function unitAt(p) {
    var n = net();
    for (var i = n.units.length - 1; i >= 0; i--) {
      var u = n.units[i], q = u.position;
      if (p.x >= q.x - 4 && p.x <= q.x + W + 4 && p.y >= q.y - 6 && p.y <= q.y + H + 6) { return u; }
    }
    return null;
  }
  function insideSVG(ev) {
    var r = svg.getBoundingClientRect();
    return ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
  }

  // ---- selection and properties -----------------------------------------
  // The properties panel edits one unit through a form the server turns into
  // the unit (and checks). Every input marks the edit pending and the jobnet
  // unsaved; flush() posts the form and applies the answer to the model. A
  // pending edit is flushed shortly after typing stops, when a field changes,
  // and before anything that could drop it: a selection change, a drill-down,
  // a tab switch, a save. The answer is applied to the unit it was posted for,
  // whatever the panel shows by then; the panel itself is replaced only while
  // it still shows that unit, keeping what was typed meanwhile and the focus.
  var msgs = root.dataset;
  var propsSeq = 0;         // counts panel loads; a stale load is not shown
  var pending = false;      // the form holds input not applied yet
  var queue = Promise.resolve({ ok: true });
  var flushTimer = 0;
  var editSeq = 0;          // counts edits, so a save knows what it covered
  var panel = null;         // {path, unit}: the unit the form edits and its JSON base
  var FLUSH_DELAY = 500;

  function propsForm() { return props.querySelector("form.ds-props"); }
  function panelPlaceholder(text) {
    var p = document.createElement("p");
    p.className = "muted"; p.dataset.testid = "props-loading"; p.textContent = text;
    props.textContent = ""; props.appendChild(p);
  }
  // fields returns the form's field values by name, without the base.
  function fields(f) {
    var out = [];
    new FormData(f).forEach(function (v, k) {
      if (k !== "unit" && k !== "path" && k !== "_csrf" && k !== "load") { out.push([k, v]); }
    });
    return out;
  }
  function byName(list) {
    var m = {};
    list.forEach(function (kv) { m[kv[0]] = (kv[0] in m) ? m[kv[0]] + "\n" + kv[1] : kv[1]; });
    return m;
  }
  // discardEdit drops the pending edit of a unit that is gone.
  function discardEdit() {
    pending = false; clearTimeout(flushTimer);
    queue = queue.then(function () { return { ok: true }; });
  }
  function scheduleFlush() {
    clearTimeout(flushTimer);
    flushTimer = setTimeout(flush, FLUSH_DELAY);
  }
  // flush posts the pending edit, if any, after the posts already under way,
  // and resolves to {ok, html, path} of the last answer: ok is false when
  // the form has errors and the edit is not applied.
  function flush() {
    clearTimeout(flushTimer);
    var f = propsForm();
    if (!pending || !f || !editable || !panel) { return queue; }
    pending = false;
    var sent = fields(f), base = panel;
    queue = queue.then(function () { return send(sent, base); });
    return queue;
  }
  // send posts fields against base, the panel's unit; an applied answer
  // updates base in place, so a later post builds on it.
  function send(sent, base) {
    var sentPath = base.path;
    var body = new URLSearchParams();
    sent.forEach(function (kv) { body.append(kv[0], kv[1]); });
    body.set("unit", base.unit); body.set("path", base.path); body.set("_csrf", csrf);
    return post(props.dataset.propsUrl, body.toString(), "application/x-www-form-urlencoded").then(function (r) {
      return r.text().then(function (html) {
        if (!r.ok) {
          if (panel === base) { pending = true; }
          return { ok: false, html: html, path: sentPath, failed: true };
        }
        var t = document.createElement("template");
        t.innerHTML = html;
        var nf = t.content.querySelector("form.ds-props");
        var res = { ok: false, html: html, path: sentPath };
        if (nf && nf.hasAttribute("data-applied")) {
          res.ok = applyUnit(sentPath, nf);
          if (res.ok) { base.path = nf.dataset.unitPath; base.unit = nf.dataset.unitJson; }
        }
        if (!res.ok && panel === base) { pending = true; }
        res.html = t.innerHTML;
        if (panel === base && propsForm()) { swapPanel(t.content, sent); }
        return res;
      });
    }, function (e) {
      if (panel === base) { pending = true; }
      return { ok: false, html: "", path: sentPath, failed: true, error: String(e) };
    });
  }
  // applyUnit takes the unit of an applied form into the model. It refuses
  // a rename onto another unit's name.
  function applyUnit(upath, nf) {
    var parts = upath.split("/"), oldName = parts.pop();
    var n = netAt(parts), cur = findUnit(n, oldName);
    if (!cur) { return true; } // deleted meanwhile: nothing to keep
    var nu = JSON.parse(nf.dataset.unitJson);
    if (nu.name !== oldName && findUnit(n, nu.name)) {
      var msg = document.createElement("div");
      msg.className = "flash flash-error";
      msg.dataset.testid = "props-error";
      msg.textContent = msgs.msgDuplicate.replace("%s", nu.name);
      nf.prepend(msg);
      nf.removeAttribute("data-applied");
      return false;
    }
    var before = snapshot();
    nu.position = cur.position;
    if (cur.net) { nu.net = cur.net; }
    n.units[n.units.indexOf(cur)] = nu;
    if (nu.name !== oldName) {
      n.edges.forEach(function (e) {
        if (e.from === oldName) { e.from = nu.name; }
        if (e.to === oldName) { e.to = nu.name; }
      });
      if (parts.join("/") === path.join("/") && sel.has(oldName)) {
        sel.delete(oldName); sel.add(nu.name);
      }
      var np = parts.concat([nu.name]).join("/");
      nf.dataset.unitPath = np;
      var pi = nf.querySelector('input[name="path"]');
      if (pi) { pi.value = np; }
    }
    recorded(before);
    editSeq++;
    render();
    return true;
  }
  // swapPanel replaces the panel's form by the answer, keeping the fields
  // typed into since the post and the focus and caret.
  function swapPanel(frag, sent) {
    var old = propsForm(), now = byName(fields(old)), then = byName(sent);
    var act = document.activeElement, focusID = "", s0 = null, s1 = null;
    if (act && old.contains(act)) {
      focusID = act.id;
      try { s0 = act.selectionStart; s1 = act.selectionEnd; } catch (e) { s0 = null; }
    }
    var scroll = props.scrollTop;
    props.textContent = "";
    props.appendChild(frag);
    var nf = propsForm();
    if (!nf) { return; }
    Object.keys(now).forEach(function (k) {
      if (now[k] === then[k]) { return; }
      var els = nf.querySelectorAll('[name="' + k + '"]');
      if (els.length === 0) { return; }
      pending = true;
      if (els[0].type === "checkbox") {
        var on = now[k].split("\n");
        Array.prototype.forEach.call(els, function (c) { c.checked = on.indexOf(c.value) >= 0; });
      } else {
        els[0].value = now[k];
      }
    });
    Object.keys(then).forEach(function (k) {
      if (k in now) { return; }
      Array.prototype.forEach.call(nf.querySelectorAll('input[type=checkbox][name="' + k + '"]'), function (c) { c.checked = false; pending = true; });
    });
    props.scrollTop = scroll;
    if (focusID) {
      var fe = document.getElementById(focusID);
      if (fe) {
        fe.focus({ preventScroll: true });
        if (s0 !== null && typeof fe.setSelectionRange === "function") { try { fe.setSelectionRange(s0, s1); } catch (e) { /* not a text field */ } }
      }
    }
    if (pending) { scheduleFlush(); }
  }
  props.addEventListener("input", function (ev) {
    if (!editable || !ev.target.closest("form.ds-props")) { return; }
    pending = true; markDirty();
    var t = ev.target;
    if (t.tagName === "SELECT" || t.type === "checkbox") { flush(); } else { scheduleFlush(); }
  });
  props.addEventListener("change", function (ev) {
    if (editable && ev.target.closest("form.ds-props")) { flush(); }
  });
  props.addEventListener("submit", function (ev) { ev.preventDefault(); flush(); });

  // select changes the selection once the pending edit is applied. When the
  // edit has errors the selection stays and the panel shows them.
  function select(names) {
    var fl = flush();
    sel = new Set(names); selEdge = -1; hidePop();
    render();
    var seq = ++propsSeq;
    var one = sel.size === 1 ? Array.from(sel)[0] : "";
    if (one && panel && panel.path === fullPath(one) && propsForm()) { return fl; }
    panel = null;
    if (one) { panelPlaceholder(msgs.msgLoading); } else if (sel.size > 1) { panelPlaceholder(msgs.msgSeveral.replace("%d", sel.size)); } else { props.innerHTML = emptyProps; }
    return fl.then(function (res) {
      if (seq !== propsSeq) { return res; }
      if (showEditErrors(res)) { return res; }
      if (one) { loadProps(one, seq); }
      return res;
    });
  }
  // showEditErrors goes back to the unit whose edit has errors and shows
  // them, with the keyboard in the first wrong field.
  function showEditErrors(res) {
    if (!res.ok && res.html && !res.failed) {
      propsSeq++;
      var parts = res.path.split("/");
      path = parts.slice(0, -1);
      sel = new Set([parts[parts.length - 1]]); selEdge = -1; hidePop();
      render();
      props.innerHTML = res.html;
      var pf = propsForm();
      panel = pf ? { path: res.path, unit: pf.querySelector('input[name="unit"]').value } : null;
      pending = !!pf;
      var bad = props.querySelector(".field-error, .flash-error");
      if (bad) {
        var input = bad.parentNode.querySelector("input, select, textarea");
        if (input) { input.focus(); }
      }
      return true;
    }
    return false;
  }
  function loadProps(name, seq) {
    var u = findUnit(net(), name), p = fullPath(name);
    if (!u) { return; }
    var req;
    if (editable) {
      var body = new URLSearchParams();
      body.set("unit", JSON.stringify(u)); body.set("path", p); body.set("load", "1"); body.set("_csrf", csrf);
      req = post(props.dataset.propsUrl, body.toString(), "application/x-www-form-urlencoded");
    } else {
      req = fetch(props.dataset.propsUrl + "?version=" + encodeURIComponent(version) + "&path=" + encodeURIComponent(p), { credentials: "same-origin", headers: { "Accept": "text/html" } });
    }
    req.then(function (r) { return r.text(); }).then(function (html) {
      if (seq !== propsSeq) { return; }
      props.innerHTML = html;
      var f = propsForm();
      if (f) { panel = { path: f.dataset.unitPath, unit: f.dataset.unitJson }; }
    });
  }
  props.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-open-nested]");
    if (b) { ev.preventDefault(); drillTo(b.dataset.openNested.split("/")); }
  });
  function drillTo(p) {
    var fl = flush();
    path = p; sel = new Set(); selEdge = -1; hidePop();
    var seq = ++propsSeq;
    panel = null;
    props.innerHTML = emptyProps;
    render();
    return fl.then(function (res) {
      if (seq === propsSeq) { showEditErrors(res); }
      return res;
    });
  }
  crumbs.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-depth]");
    if (!a) { return; }
    ev.preventDefault();
    drillTo(path.slice(0, Number(a.dataset.depth)));
  });

  // ---- edge kind popup ---------------------------------------------------
  function showPop(i) {
    var n = net(), e = n.edges[i];
    if (!e || !editable) { return; }
    var a = findUnit(n, e.from), b = findUnit(n, e.to), m = mid(a.position, b.position);
    // Out of a judgment an edge is true or false; out of anything else
    // normal or recovery.
    var judgment = a.kind === "judgment";
    Array.prototype.forEach.call(pop.querySelectorAll("[data-edge-kind]"), function (btn) {
      var k = btn.dataset.edgeKind;
      btn.hidden = judgment !== (k === "true" || k === "false");
      btn.classList.toggle("primary", k === kindOf(e));
    });
    popEdge = i;
    pop.hidden = false;
    // Below and right of the edge's middle, kept inside the visible canvas.
    var wrapEl = pop.parentNode, ctm = svg.getScreenCTM(), wrap = wrapEl.getBoundingClientRect();
    var x = ctm.e + m.x * ctm.a - wrap.left - wrapEl.clientLeft + wrapEl.scrollLeft;
    var y = ctm.f + m.y * ctm.d - wrap.top - wrapEl.clientTop + wrapEl.scrollTop;
    var pw = pop.offsetWidth, ph = pop.offsetHeight, gap = 8;
    var minX = wrapEl.scrollLeft + 4, maxX = wrapEl.scrollLeft + wrapEl.clientWidth - pw - 4;
    var minY = wrapEl.scrollTop + 4, maxY = wrapEl.scrollTop + wrapEl.clientHeight - ph - 4;
    var left = x + gap, top = y + gap;
    if (left > maxX) { left = x - gap - pw; }
    if (top > maxY) { top = y - gap - ph; }
    pop.style.left = Math.max(minX, Math.min(maxX, left)) + "px";
    pop.style.top = Math.max(minY, Math.min(maxY, top)) + "px";
  }
  function hidePop() { pop.hidden = true; popEdge = -1; }
  pop.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-edge-kind]");
    if (!b || popEdge < 0) { return; }
    var before = snapshot();
    net().edges[popEdge].kind = b.dataset.edgeKind;
    recorded(before);
    markDirty(); hidePop(); render();
  });

  // ---- mouse -------------------------------------------------------------
  var ghost = null;
  document.addEventListener("mousedown", function (ev) {
    if (ev.button !== 0) { return; }
    var pal = ev.target.closest(".ds-pal-item");
    if (pal && editable) {
      ev.preventDefault();
      drag = { type: "palette", kind: pal.dataset.kind };
      ghost = document.createElement("div");
      ghost.className = "ds-ghost ds-ghost-" + pal.dataset.kind;
      ghost.textContent = pal.textContent;
      document.body.appendChild(ghost);
      moveGhost(ev);
      return;
    }
    if (!svg.contains(ev.target)) { return; }
    ev.preventDefault();
    // The keyboard goes to the canvas (Delete removes the selection); a
    // field left this way is flushed by select below.
    svg.focus({ preventScroll: true });
    var p = toSVG(ev);
    var h = ev.target.closest("[data-handle]");
    if (h && editable) {
      drag = { type: "connect", from: h.dataset.handle, line: el("path", { "class": "ds-temp" }, gOver) };
      return;
    }
    var ug = ev.target.closest(".ds-unit");
    if (ug) {
      var name = ug.dataset.name;
      if (ev.shiftKey) {
        if (sel.has(name)) { sel.delete(name); } else { sel.add(name); }
        select(Array.from(sel));
        return;
      }
      hidePop();
      if (!sel.has(name)) { select([name]); }
      var orig = {};
      sel.forEach(function (nm) { var u = findUnit(net(), nm); if (u) { orig[nm] = { x: u.position.x, y: u.position.y }; } });
      drag = { type: "move", start: p, orig: orig, name: name, moved: false, before: snapshot() };
      return;
    }
    var eg = ev.target.closest("[data-edge]");
    if (eg) {
      var ei = Number(eg.getAttribute("data-edge"));
      select([]);
      selEdge = ei;
      render(); showPop(selEdge);
      return;
    }
    hidePop();
    if (!ev.shiftKey && (sel.size > 0 || selEdge >= 0)) { select([]); }
    drag = { type: "band", start: p, rect: el("rect", { "class": "ds-band", x: p.x, y: p.y, width: 0, height: 0 }, gOver) };
  });
  function moveGhost(ev) { if (ghost) { ghost.style.left = (ev.clientX - 10) + "px"; ghost.style.top = (ev.clientY - 10) + "px"; } }
  document.addEventListener("mousemove", function (ev) {
    if (!drag) { return; }
    if (drag.type === "palette") { moveGhost(ev); return; }
    var p = toSVG(ev);
    if (drag.type === "move" && editable) {
      var dx = p.x - drag.start.x, dy = p.y - drag.start.y;
      if (Math.abs(dx) + Math.abs(dy) < 3 && !drag.moved) { return; }
      drag.moved = true;
      Object.keys(drag.orig).forEach(function (nm) {
        var u = findUnit(net(), nm);
        if (u) { u.position = { x: snap(drag.orig[nm].x + dx), y: snap(drag.orig[nm].y + dy) }; }
      });
      render();
    } else if (drag.type === "connect") {
      var a = findUnit(net(), drag.from);
      drag.line.setAttribute("d", "M" + (a.position.x + W) + "," + (a.position.y + H / 2) + " L" + p.x + "," + p.y);
    } else if (drag.type === "band") {
      var x = Math.min(p.x, drag.start.x), y = Math.min(p.y, drag.start.y);
      drag.rect.setAttribute("x", x); drag.rect.setAttribute("y", y);
      drag.rect.setAttribute("width", Math.abs(p.x - drag.start.x)); drag.rect.setAttribute("height", Math.abs(p.y - drag.start.y));
    }
  });
  document.addEventListener("mouseup", function (ev) {
    var d = drag;
    drag = null;
    if (!d) { return; }
    if (d.type === "palette") {
      if (ghost) { ghost.remove(); ghost = null; }
      if (insideSVG(ev)) {
        var p0 = toSVG(ev);
        var u = newUnit(d.kind, snap(p0.x - W / 2), snap(p0.y - H / 2));
        var before = snapshot();
        net().units.push(u);
        recorded(before);
        markDirty();
        select([u.name]);
      }
      return;
    }
    var p = toSVG(ev);
    if (d.type === "move") {
      if (d.moved) { recorded(d.before); markDirty(); render(); } else if (sel.size > 1 && !ev.shiftKey) { select([d.name]); }
    } else if (d.type === "connect") {
      d.line.remove();
      var t = unitAt(p);
      if (t && t.name !== d.from) { connect(d.from, t.name); }
    } else if (d.type === "band") {
      d.rect.remove();
      var x1 = Math.min(p.x, d.start.x), x2 = Math.max(p.x, d.start.x), y1 = Math.min(p.y, d.start.y), y2 = Math.max(p.y, d.start.y);
      if (x2 - x1 < 4 && y2 - y1 < 4) { return; }
      net().units.forEach(function (u) {
        var q = u.position;
        if (q.x + W >= x1 && q.x <= x2 && q.y + H >= y1 && q.y <= y2) { sel.add(u.name); }
      });
      select(Array.from(sel));
    }
  });
  function connect(from, to) {
    var n = net();
    for (var i = 0; i < n.edges.length; i++) {
      if (n.edges[i].from === from && n.edges[i].to === to) { showPop(i); return; }
    }
    var src = findUnit(n, from), kind = "normal";
    if (src.kind === "judgment") {
      kind = n.edges.some(function (e) { return e.from === from && e.kind === "true"; }) ? "false" : "true";
    }
    var before = snapshot();
    n.edges.push({ from: from, to: to, kind: kind });
    recorded(before);
    markDirty();
    select([]);
    selEdge = n.edges.length - 1;
    render(); showPop(selEdge);
  }
  svg.addEventListener("dblclick", function (ev) {
    var ug = ev.target.closest(".ds-unit");
    if (!ug) { return; }
    var u = findUnit(net(), ug.dataset.name);
    if (u && u.kind === "jobnet") { drillTo(path.concat([u.name])); }
  });

  // ---- delete ------------------------------------------------------------
  function deleteSelection() {
    if (!editable) { return; }
    var n = net(), before = snapshot();
    if (sel.size > 0) {
      n.units = n.units.filter(function (u) { return !sel.has(u.name); });
      n.edges = n.edges.filter(function (e) { return !sel.has(e.from) && !sel.has(e.to); });
      if (panel && sel.has(panel.path.split("/").pop())) { discardEdit(); }
      sel = new Set(); propsSeq++; panel = null; props.innerHTML = emptyProps;
    } else if (selEdge >= 0) {
      n.edges.splice(selEdge, 1);
    } else {
      return;
    }
    recorded(before);
    selEdge = -1; hidePop(); markDirty(); render();
  }
  // Delete and Backspace remove the selection only while the canvas has the
  // keyboard (after a click on it), never from a field or the page; Escape
  // closes the edge popup wherever the keyboard is.
  // Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y, Ctrl+C and Ctrl+V act on the drawing
  // wherever the keyboard is except in a text field, where the field's own
  // undo, copy and paste win, and on the YAML tab.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") {
      if (!pop.hidden) { ev.preventDefault(); hidePop(); }
      return;
    }
    if ((ev.key === "Delete" || ev.key === "Backspace") && ev.target === svg) { ev.preventDefault(); deleteSelection(); return; }
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || typingIn(ev.target) || root.dataset.tab === "yaml") { return; }
    var k = ev.key.toLowerCase();
    if (k === "z" && !ev.shiftKey) { ev.preventDefault(); undo(); } else if ((k === "z" && ev.shiftKey) || (k === "y" && !ev.shiftKey)) { ev.preventDefault(); redo(); } else if (k === "c" && !ev.shiftKey && sel.size > 0 && textSelectionEmpty()) { ev.preventDefault(); copySelection(); } else if (k === "v" && !ev.shiftKey && editable) { ev.preventDefault(); paste(); }
  });
  var delBtn = document.getElementById("ed-delete");
  if (delBtn) { delBtn.addEventListener("click", deleteSelection); }

  // ---- undo and redo -----------------------------------------------------
  // Every change of the drawing (units added, deleted, moved or pasted,
  // edges added, deleted or re-kinded, a property edit applied, YAML taken
  // over) records the definition as it was before. Undo and redo first
  // apply the pending edit of the properties panel, so it is one more step.
  var undoBtn = document.getElementById("ed-undo"), redoBtn = document.getElementById("ed-redo");
  function snapshot() { return JSON.stringify(def); }
  // recorded notes a change made since before was taken, if there was one.
  function recorded(before) {
    if (before === snapshot()) { return; }
    undoStack.push(before);
    if (undoStack.length > UNDO_MAX) { undoStack.shift(); }
    redoStack = [];
    undoButtons();
  }
  function undoButtons() {
    if (undoBtn) { undoBtn.disabled = undoStack.length === 0; }
    if (redoBtn) { redoBtn.disabled = redoStack.length === 0; }
  }
  function undo() { step(undoStack, redoStack); }
  function redo() { step(redoStack, undoStack); }
  function step(from, to) {
    if (!editable) { return; }
    flush().then(function (res) {
      if (!res.ok && showEditErrors(res)) { return; }
      if (from.length === 0) { return; }
      to.push(snapshot());
      restore(from.pop());
      undoButtons();
    });
  }
  // restore puts a recorded definition back, staying in the nested net and
  // on the selected units where they still exist.
  function restore(s) {
    def = JSON.parse(s);
    if (!def.units) { def.units = []; }
    var n = def, p = [];
    for (var i = 0; i < path.length; i++) {
      var u = findUnit(n, path[i]);
      if (!u || !u.net) { break; }
      p.push(path[i]); n = u.net;
    }
    path = p;
    var keep = Array.from(sel).filter(function (nm) { return findUnit(net(), nm); });
    discardEdit();
    panel = null; propsSeq++;
    sel = new Set(); selEdge = -1; hidePop();
    markDirty();
    select(keep);
  }
  if (undoBtn) { undoBtn.addEventListener("click", undo); }
  if (redoBtn) { redoBtn.addEventListener("click", redo); }
  undoButtons();

  // ---- copy and paste ----------------------------------------------------
  // Copy takes the selected units with the edges between them; it is kept in
  // localStorage, so it pastes into another net or jobnet too. Pasted units
  // get fresh names (job1 → the next free jobN, load → load2), keep their
  // layout shifted right and down to the first free place, and are selected.
  var CLIP_KEY = "koyomi.editor.clipboard", clipMem = null;
  function typingIn(t) {
    if (!t || !t.tagName) { return false; }
    if (t.isContentEditable || t.tagName === "TEXTAREA") { return true; }
    return t.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|file|color|range)$/.test(t.type);
  }
  function textSelectionEmpty() {
    var ts = window.getSelection();
    return !ts || ts.isCollapsed;
  }
  function copySelection() {
    var n = net();
    var units = n.units.filter(function (u) { return sel.has(u.name); });
    var edges = n.edges.filter(function (e) { return sel.has(e.from) && sel.has(e.to); });
    var c = JSON.stringify({ units: units, edges: edges });
    clipMem = c;
    try { window.localStorage.setItem(CLIP_KEY, c); } catch (e) { /* storage off: this page only */ }
  }
  function readClip() {
    var c = clipMem;
    try { c = window.localStorage.getItem(CLIP_KEY) || c; } catch (e) { /* storage off */ }
    if (!c) { return null; }
    try { return JSON.parse(c); } catch (e) { return null; }
  }
  function copyName(n, name) {
    var m = /^(.*?)(\d*)$/.exec(name), stem = m[1] || name, i = m[2] ? 1 : 2;
    while (findUnit(n, stem + i)) { i++; }
    return (stem + i).slice(0, 64);
  }
  var PASTE_STEP = 40;
  function paste() {
    var c = readClip();
    if (!c || !c.units || c.units.length === 0) { return; }
    flush().then(function (res) {
      if (!res.ok && showEditErrors(res)) { return; }
      var n = net(), before = snapshot(), names = {}, added = [];
      var taken = {};
      n.units.forEach(function (u) { if (u.position) { taken[u.position.x + "," + u.position.y] = true; } });
      var off = PASTE_STEP;
      var clash = function () {
        return c.units.some(function (u) { var q = u.position || { x: 40, y: 40 }; return taken[(q.x + off) + "," + (q.y + off)]; });
      };
      while (clash()) { off += PASTE_STEP; }
      c.units.forEach(function (u) {
        var nu = JSON.parse(JSON.stringify(u)), q = nu.position || { x: 40, y: 40 };
        nu.name = copyName(n, u.name);
        nu.position = { x: q.x + off, y: q.y + off };
        names[u.name] = nu.name;
        n.units.push(nu);
        added.push(nu.name);
      });
      (c.edges || []).forEach(function (e) {
        if (names[e.from] && names[e.to]) {
          var ne = { from: names[e.from], to: names[e.to] };
          if (e.kind) { ne.kind = e.kind; }
          n.edges.push(ne);
        }
      });
      recorded(before);
      markDirty();
      select(added);
    });
  }

  // ---- save and problems -------------------------------------------------
  function showProblems(html) {
    problemsBox.innerHTML = html;
    problemUnits = new Set();
    Array.prototype.forEach.call(problemsBox.querySelectorAll("li[data-units]"), function (li) {
      li.dataset.units.split("\n").forEach(function (u) { if (u) { problemUnits.add(u); } });
    });
    render();
  }
  problemsBox.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-unit]");
    if (!a) { return; }
    ev.preventDefault();
    var parts = a.dataset.unit.split("/");
    drillTo(parts.slice(0, -1));
    if (findUnit(net(), parts[parts.length - 1])) { select([parts[parts.length - 1]]); }
  });
  var saveBtn = document.getElementById("ed-save");
  function post(url, body, type) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": type, "X-CSRF-Token": csrf, "Accept": "text/html" }, body: body });
  }
  if (saveBtn) {
    // Save applies the pending edit of the properties panel first; an edit
    // with errors stops the save. "Unsaved changes" goes only when nothing
    // was edited while the save was under way.
    saveBtn.addEventListener("click", function () {
      saveBtn.disabled = true;
      problemsBox.textContent = "";
      flush().then(function (res) {
        if (!res.ok) {
          var d = document.createElement("div");
          d.className = "ds-problems"; d.dataset.testid = "problems";
          d.textContent = res.failed ? msgs.msgSaveFailed + " " + (res.error || res.html.replace(/<[^>]*>/g, " ").trim()) : msgs.msgFixProps.replace("%s", res.path);
          problemsBox.textContent = ""; problemsBox.appendChild(d);
          return null;
        }
        var at = editSeq;
        return post(base, JSON.stringify(def), "application/json").then(function (r) {
          return { r: r, at: at };
        });
      }).then(function (x) {
        if (!x) { return; }
        var r = x.r;
        return r.text().then(function (html) {
          showProblems(html);
          if (r.ok) {
            if (editSeq === x.at && !pending) {
              dirty = false;
              if (dirtyMark) { dirtyMark.hidden = true; }
            }
            var v = r.headers.get("X-Koyomi-Version");
            var badge = document.querySelector('[data-testid="version-badge"]');
            if (v && badge) { badge.textContent = "v" + v; version = v; root.dataset.version = v; }
          }
        });
      }).catch(function (e) {
        problemsBox.textContent = msgs.msgSaveFailed + " " + e;
      }).then(function () { saveBtn.disabled = false; });
    });
  }
  window.addEventListener("beforeunload", function (ev) {
    if (dirty || pending) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // ---- tabs: canvas and YAML ---------------------------------------------
  function showTab(name) {
    Array.prototype.forEach.call(root.querySelectorAll(".ds-tab"), function (t) { t.classList.toggle("active", t.dataset.tab === name); });
    Array.prototype.forEach.call(root.querySelectorAll(".ds-pane"), function (p) { p.hidden = p.dataset.pane !== name; });
    root.dataset.tab = name;
  }
  root.addEventListener("click", function (ev) {
    var t = ev.target.closest(".ds-tab");
    if (!t || t.dataset.tab === root.dataset.tab) { return; }
    if (t.dataset.tab === "yaml") {
      if (!editable) { showTab("yaml"); return; }
      flush().then(function () {
        if (!yamlStale) { showTab("yaml"); return null; }
        return post(base + "/export", JSON.stringify(def), "application/json");
      }).then(function (r) {
        if (!r) { return; }
        return r.text().then(function (txt) {
          if (r.ok) { yamlText.value = txt; yamlStale = false; yamlEdited = false; yamlErrors.textContent = ""; showTab("yaml"); } else { problemsBox.innerHTML = txt; }
        });
      });
      return;
    }
    if (!yamlEdited) { showTab("canvas"); return; }
    var body = new URLSearchParams();
    body.set("yaml", yamlText.value); body.set("_csrf", csrf);
    post(base + "/preview", body.toString(), "application/x-www-form-urlencoded").then(function (r) {
      if (r.ok) {
        return r.json().then(function (j) {
          var before = snapshot();
          def = j; if (!def.units) { def.units = []; }
          recorded(before);
          yamlEdited = false; yamlStale = false; yamlErrors.textContent = "";
          discardEdit();
          path = []; sel = new Set(); selEdge = -1; propsSeq++; panel = null; props.innerHTML = emptyProps;
          showTab("canvas"); render();
        });
      }
      return r.text().then(function (html) { yamlErrors.innerHTML = html; });
    });
  });
  if (yamlText) {
    yamlText.addEventListener("input", function () { yamlEdited = true; markDirty(); yamlStale = false; });
    var yf = document.getElementById("ed-yaml-form");
    if (yf) { yf.addEventListener("submit", function () { dirty = false; }); }
    if (root.dataset.tab === "yaml" && yamlErrors.textContent.trim() !== "") { yamlEdited = true; dirty = true; }
  }

  render();
  if (problemsBox.querySelector("li[data-units]")) { showProblems(problemsBox.innerHTML); }
})();
