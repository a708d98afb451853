// kfup dashboard: the little script the server-rendered pages need. No inline scripts
// anywhere (the CSP allows only files from /assets/); htmx does the partial updates.
(function () {
  "use strict";

  // Live updates: the server sends one "change" event per burst of changes, its data the
  // resources that changed ("pods", "pytorchjobs.kubeflow.org", ...). A region marked
  // data-live="<resources>" (or "*") re-fetches itself through htmx (hx-trigger
  // "kfup:refresh").
  function startLive() {
    var src = document.body.dataset.events;
    if (!src || !window.EventSource) return;
    var es = new EventSource(src);
    var pending = null;
    var changed = {};
    es.addEventListener("change", function (e) {
      e.data.split(" ").forEach(function (r) { changed[r] = true; });
      if (pending) return;
      pending = setTimeout(function () {
        var got = changed;
        changed = {};
        pending = null;
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var want = el.dataset.live.split(" ");
          if (want.indexOf("*") >= 0 || want.some(function (r) { return got[r]; })) {
            htmx.trigger(el, "kfup:refresh");
          }
        });
      }, 150);
    });
    var state = document.getElementById("live-state");
    es.addEventListener("open", function () { if (state) { state.textContent = "live"; state.className = "live on"; } });
    es.addEventListener("error", function () { if (state) { state.textContent = "reconnecting"; state.className = "live off"; } });
  }

  // The namespace selector keeps the current view: /ns/<old>/x becomes /ns/<new>/x.
  function namespaceSelector() {
    var sel = document.getElementById("ns-select");
    if (!sel) return;
    sel.addEventListener("change", function () {
      var p = location.pathname.replace(/^\/ns\/[^/]+/, "/ns/" + encodeURIComponent(sel.value));
      // an object's page does not exist in another namespace: go to its list
      var parts = p.split("/");
      if (parts.length > 4) p = parts.slice(0, 4).join("/");
      location.assign(p);
    });
  }

  // Tables with class "sortable" sort by a header click; an input with data-filter="<id>"
  // hides the rows of table <id> that do not contain its text.
  function tables(root) {
    root.querySelectorAll("table.sortable th").forEach(function (th) {
      if (th.dataset.bound) return;
      th.dataset.bound = "1";
      th.addEventListener("click", function () {
        var table = th.closest("table");
        var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
        var asc = th.dataset.sort !== "asc";
        table.querySelectorAll("th").forEach(function (h) { delete h.dataset.sort; });
        th.dataset.sort = asc ? "asc" : "desc";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[idx] ? a.cells[idx].dataset.v || a.cells[idx].textContent : "";
          var y = b.cells[idx] ? b.cells[idx].dataset.v || b.cells[idx].textContent : "";
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    root.querySelectorAll("input[data-filter]").forEach(function (inp) {
      if (inp.dataset.bound) return;
      inp.dataset.bound = "1";
      inp.addEventListener("input", function () {
        var t = document.getElementById(inp.dataset.filter);
        if (!t) return;
        var q = inp.value.toLowerCase();
        Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    });
  }

  // A pipeline run's DAG: nodes and edges from data-src (JSON), laid out by dagre, drawn
  // as SVG; a click on a task loads its side panel.
  var SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function drawDAG(box) {
    if (box.dataset.drawn === box.dataset.src + box.dataset.version) return;
    box.dataset.drawn = box.dataset.src + box.dataset.version;
    fetch(box.dataset.src, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 36, marginx: 8, marginy: 8 });
      g.setDefaultEdgeLabel(function () { return {}; });
      d.nodes.forEach(function (n) { g.setNode(n.id, { width: Math.min(220, 24 + 7 * n.label.length), height: 30, n: n }); });
      d.edges.forEach(function (e) { if (g.hasNode(e[0]) && g.hasNode(e[1])) g.setEdge(e[0], e[1]); });
      dagre.layout(g);
      var gg = g.graph();
      box.textContent = "";
      var svg = el("svg", { width: gg.width, height: gg.height, viewBox: "0 0 " + gg.width + " " + gg.height, "class": "dag" }, box);
      g.edges().forEach(function (e) {
        var pts = g.edge(e).points;
        el("path", { d: "M" + pts.map(function (p) { return p.x + "," + p.y; }).join("L"), "class": "edge" }, svg);
      });
      g.nodes().forEach(function (id) {
        var v = g.node(id);
        var a = el("g", { "class": "node phase-" + (v.n.phase || "Pending").toLowerCase(), "data-id": id, tabindex: "0" }, svg);
        el("rect", { x: v.x - v.width / 2, y: v.y - v.height / 2, width: v.width, height: v.height, rx: 5 }, a);
        var t = el("text", { x: v.x, y: v.y + 4, "text-anchor": "middle" }, a);
        t.textContent = v.n.label.length > 28 ? v.n.label.slice(0, 27) + "…" : v.n.label;
        var title = el("title", {}, a);
        title.textContent = id + ": " + (v.n.phase || "Pending");
        a.addEventListener("click", function () {
          if (box.dataset.task) htmx.ajax("GET", box.dataset.task + "?id=" + encodeURIComponent(id), "#side");
        });
      });
      box.dataset.nodes = String(d.nodes.length);
      box.classList.add("drawn");
    });
  }

  function wire(root) {
    tables(root);
    root.querySelectorAll("[data-dag]").forEach(drawDAG);
  }

  document.addEventListener("DOMContentLoaded", function () {
    startLive();
    namespaceSelector();
    wire(document);
  });
  document.addEventListener("htmx:afterSettle", function (e) { wire(e.target); });
})();
