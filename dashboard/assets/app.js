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
  // hides the rows of table <id> that do not contain its text. Both survive a live
  // refresh of the region (kept by table id, applied again when it is wired).
  var sorts = {}, filters = {};
  function tables(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("table.sortable th").forEach(function (th) {
      if (th.dataset.bound) return;
      th.dataset.bound = "1";
      th.addEventListener("click", function () {
        var table = th.closest("table");
        var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
        var asc = th.dataset.sort !== "asc";
        table.querySelectorAll("th").forEach(function (h) { delete h.dataset.sort; });
        th.dataset.sort = asc ? "asc" : "desc";
        if (table.id) sorts[table.id] = { idx: idx, asc: asc };
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
        filters[inp.dataset.filter] = inp.value;
        var q = inp.value.toLowerCase();
        Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
        document.dispatchEvent(new CustomEvent("kfup:filtered"));
      });
      if (filters[inp.dataset.filter]) {
        inp.value = filters[inp.dataset.filter];
        inp.dispatchEvent(new Event("input"));
      }
    });
    root.querySelectorAll("table.sortable[id]").forEach(function (table) {
      var st = sorts[table.id];
      var th = st && table.tHead && table.tHead.rows[0].cells[st.idx];
      if (!th || th.dataset.sort) return;
      // a click sorts ascending from no order: click again for descending
      th.click();
      if (!st.asc) th.click();
    });
  }

  // A pipeline run's DAG: nodes and edges from data-graph (else data-src), laid out by dagre, drawn
  // as SVG; a click on a task loads its side panel.
  var SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }

  // fastOrder is dagre's customOrder: the order of the nodes within each rank of dagre's
  // layout graph (dummy nodes included, every edge one rank long), by layer-by-layer
  // barycenter sweeps as dagre's own order phase does, kept to arrays and index maps; the
  // crossings of each pass are counted with a Fenwick tree (Barth, Juenger, Mutzel) and the
  // best pass wins. dagre's own ordering spends most of a 1,000-task layout rebuilding
  // per-rank graphs (docs/dashboard.md has the figures); this one takes a few percent of it.
  function fastOrder(g) {
    var layers = [], seen = {}, pos = {}, preds = {}, succs = {};
    var nodes = g.nodes().filter(function (v) { return !g.children(v).length; });
    nodes.forEach(function (v) {
      preds[v] = g.inEdges(v).map(function (e) { return [e.v, g.edge(e).weight || 1]; });
      succs[v] = g.outEdges(v).map(function (e) { return [e.w, g.edge(e).weight || 1]; });
    });
    // the first order: depth-first from the top ranks down, as dagre's initOrder
    function dfs(v) {
      if (seen[v]) return;
      seen[v] = true;
      var r = g.node(v).rank;
      (layers[r] || (layers[r] = [])).push(v);
      succs[v].forEach(function (s) { dfs(s[0]); });
    }
    nodes.sort(function (a, b) { return g.node(a).rank - g.node(b).rank; }).forEach(dfs);
    for (var r = 0; r < layers.length; r++) layers[r] = layers[r] || [];
    layers.forEach(function (l) { l.forEach(function (v, i) { pos[v] = i; }); });
    // sweep orders one layer by the barycenter of each node's neighbours in the layer
    // before it; a node without such neighbours keeps its slot
    function sweep(layer, nbrs) {
      var fixed = new Array(layer.length), movable = [];
      layer.forEach(function (v, i) {
        var s = 0, w = 0;
        nbrs[v].forEach(function (p) { s += p[1] * pos[p[0]]; w += p[1]; });
        if (w) movable.push({ v: v, i: i, bc: s / w }); else fixed[i] = v;
      });
      movable.sort(function (a, b) { return a.bc - b.bc || a.i - b.i; });
      for (var i = 0, m = 0; i < layer.length; i++) {
        if (fixed[i] === undefined) fixed[i] = movable[m++].v;
        pos[fixed[i]] = i;
      }
      return fixed;
    }
    function crossings() {
      var cc = 0;
      for (var r = 1; r < layers.length; r++) {
        var size = layers[r].length, tree = new Array(size + 1).fill(0);
        layers[r - 1].forEach(function (u) {
          succs[u].map(function (s) { return pos[s[0]]; }).sort(function (a, b) { return a - b; }).forEach(function (p) {
            var j, above = 0;
            for (j = size; j > 0; j -= j & -j) above += tree[j];
            for (j = p + 1; j > 0; j -= j & -j) above -= tree[j];
            cc += above;
            for (j = p + 1; j <= size; j += j & -j) tree[j]++;
          });
        });
      }
      return cc;
    }
    var copy = function () { return layers.map(function (l) { return l.slice(); }); };
    var best = copy(), bestCC = crossings();
    for (var it = 0, stale = 0; it < 24 && stale < 4 && bestCC > 0; it++) {
      if (it % 2 === 0) for (r = 1; r < layers.length; r++) layers[r] = sweep(layers[r], preds);
      else for (r = layers.length - 2; r >= 0; r--) layers[r] = sweep(layers[r], succs);
      var cc = crossings();
      if (cc < bestCC) { bestCC = cc; best = copy(); stale = 0; } else stale++;
    }
    best.forEach(function (l) { l.forEach(function (v, i) { g.node(v).order = i; }); });
  }

  // layoutDAG lays out d's nodes and edges: network simplex ranks (dagre's default, the
  // most compact) up to 250 nodes, its tight-tree ranker above (network simplex grows
  // with nodes times edges: seconds for 1,000 tasks), fastOrder's ordering always.
  function layoutDAG(d) {
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 36, marginx: 8, marginy: 8,
      ranker: d.nodes.length > 250 ? "tight-tree" : "network-simplex" });
    g.setDefaultEdgeLabel(function () { return {}; });
    d.nodes.forEach(function (n) { g.setNode(n.id, { width: Math.min(220, 24 + 7 * n.label.length), height: 30 }); });
    d.edges.forEach(function (e) { if (g.hasNode(e[0]) && g.hasNode(e[1])) g.setEdge(e[0], e[1]); });
    dagre.layout(g, { customOrder: fastOrder });
    var out = { width: g.graph().width, height: g.graph().height, nodes: {}, edges: [] };
    g.nodes().forEach(function (id) { var v = g.node(id); out.nodes[id] = { x: v.x, y: v.y, width: v.width, height: v.height }; });
    g.edges().forEach(function (e) { out.edges.push(g.edge(e).points); });
    return out;
  }

  // A live refresh replaces the run's region; the DAG's shape rarely changes with it (only
  // phases do), so its layout is kept by the run's URL and the shape's signature and
  // drawn again with the new phases: no second layout, the scroll position kept.
  var layouts = {};
  function dagSignature(d) {
    return d.nodes.map(function (n) { return n.id + "\u0000" + n.label; }).join("\u0001") + "\u0002" +
      d.edges.map(function (e) { return e[0] + "\u0000" + e[1]; }).join("\u0001");
  }
  function drawDAG(box) {
    if (box.kfupDrawn) return;
    box.kfupDrawn = true;
    var src = box.dataset.src, wrap = box.parentNode;
    // the page carries the graph (data-graph); the JSON endpoint (data-src) is the fallback
    var got = box.dataset.graph ? Promise.resolve(JSON.parse(box.dataset.graph)) :
      fetch(src, { credentials: "same-origin" }).then(function (r) { return r.json(); });
    got.then(function (d) {
      var sig = dagSignature(d), kept = layouts[src];
      var lay = kept && kept.sig === sig ? kept.layout : null;
      box.dataset.layout = lay ? "kept" : "new";
      if (!lay) lay = layoutDAG(d);
      layouts = {};
      layouts[src] = { sig: sig, layout: lay, scroll: kept && kept.scroll };
      box.textContent = "";
      var svg = el("svg", { width: lay.width, height: lay.height, viewBox: "0 0 " + lay.width + " " + lay.height, "class": "dag" }, box);
      lay.edges.forEach(function (pts) {
        el("path", { d: "M" + pts.map(function (p) { return p.x + "," + p.y; }).join("L"), "class": "edge" }, svg);
      });
      d.nodes.forEach(function (n) {
        var v = lay.nodes[n.id];
        var a = el("g", { "class": "node phase-" + (n.phase || "Pending").toLowerCase(), "data-id": n.id, tabindex: "0" }, svg);
        el("rect", { x: v.x - v.width / 2, y: v.y - v.height / 2, width: v.width, height: v.height, rx: 5 }, a);
        var t = el("text", { x: v.x, y: v.y + 4, "text-anchor": "middle" }, a);
        t.textContent = n.label.length > 28 ? n.label.slice(0, 27) + "…" : n.label;
        var title = el("title", {}, a);
        title.textContent = n.id + ": " + (n.phase || "Pending");
        a.addEventListener("click", function () {
          if (box.dataset.task) htmx.ajax("GET", box.dataset.task + "?id=" + encodeURIComponent(n.id), "#side");
        });
      });
      if (wrap && layouts[src].scroll) { wrap.scrollLeft = layouts[src].scroll[0]; wrap.scrollTop = layouts[src].scroll[1]; }
      if (wrap) wrap.addEventListener("scroll", function () { layouts[src].scroll = [wrap.scrollLeft, wrap.scrollTop]; }, { passive: true });
      box.dataset.nodes = String(d.nodes.length);
      box.classList.add("drawn");
    });
  }

  // An experiment's charts, from data-trials (JSON): the objective of each trial with the
  // best so far (uPlot), and parallel coordinates of the parameters and the objective,
  // linked to the trial table (hover either; the table's filter dims hidden trials).
  var trialData = {};
  function withTrials(src, fn) {
    if (!trialData[src]) {
      trialData[src] = fetch(src, { credentials: "same-origin" }).then(function (r) { return r.json(); });
      setTimeout(function () { delete trialData[src]; }, 500);
    }
    trialData[src].then(fn);
  }
  function num(v) { var n = parseFloat(v); return isNaN(n) ? null : n; }

  function objectiveChart(box, d) {
    if (!window.uPlot) return;
    var xs = [], ys = [], best = [], cur = null;
    d.trials.forEach(function (t, i) {
      var v = num(t.metrics[0]);
      xs.push(i + 1);
      ys.push(v);
      if (v !== null && (cur === null || (d.maximize ? v > cur : v < cur))) cur = v;
      best.push(cur);
    });
    box.textContent = "";
    if (xs.length === 0) { box.textContent = "No trials yet."; return; }
    new uPlot({
      width: Math.max(300, box.clientWidth - 8), height: 220,
      scales: { x: { time: false } },
      axes: [{ label: "trial", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, {}],
      series: [{ label: "trial" },
        { label: d.metrics[0] || "objective", stroke: "#2754c5", width: 0, points: { show: true, size: 7, fill: "#2754c5" } },
        { label: "best so far", stroke: "#1f8a4c", width: 2, points: { show: false } }],
    }, [xs, ys, best], box);
    box.classList.add("drawn");
  }

  function parcoords(box, d) {
    var dims = d.params.map(function (p, i) { return { name: p, get: function (t) { return t.params[i]; } }; });
    if (d.metrics.length) dims.push({ name: d.metrics[0], get: function (t) { return t.metrics[0]; }, objective: true });
    var trials = d.trials.filter(function (t) { return dims.every(function (dm) { return dm.get(t) !== ""; }); });
    box.textContent = "";
    if (dims.length < 2 || trials.length === 0) { box.textContent = "No finished trials yet."; return; }
    dims.forEach(function (dm) {
      var vals = trials.map(dm.get);
      dm.numeric = vals.every(function (v) { return num(v) !== null; });
      if (dm.numeric) {
        var ns = vals.map(num);
        dm.min = Math.min.apply(null, ns); dm.max = Math.max.apply(null, ns);
      } else {
        dm.cats = vals.filter(function (v, i) { return vals.indexOf(v) === i; }).sort();
      }
    });
    var W = Math.max(320, box.clientWidth - 8), H = 220, top = 24, bottom = 20, left = 40, right = 40;
    var step = (W - left - right) / (dims.length - 1);
    var svg = el("svg", { width: W, height: H, "class": "parcoords" }, box);
    function y(dm, v) {
      var f;
      if (dm.numeric) f = dm.max === dm.min ? 0.5 : (num(v) - dm.min) / (dm.max - dm.min);
      else f = dm.cats.length < 2 ? 0.5 : dm.cats.indexOf(v) / (dm.cats.length - 1);
      return H - bottom - f * (H - top - bottom);
    }
    var lines = {};
    trials.forEach(function (t) {
      var pts = dims.map(function (dm, i) { return (left + i * step) + "," + y(dm, dm.get(t)); });
      var line = el("polyline", { points: pts.join(" "), "class": "pc-line" + (t.name === d.best ? " best" : ""), "data-trial": t.name }, svg);
      var title = el("title", {}, line);
      title.textContent = t.name + ": " + dims.map(function (dm) { return dm.name + "=" + dm.get(t); }).join(", ");
      line.addEventListener("mouseenter", function () { hover(t.name, true); });
      line.addEventListener("mouseleave", function () { hover(t.name, false); });
      lines[t.name] = line;
    });
    dims.forEach(function (dm, i) {
      var x = left + i * step;
      el("line", { x1: x, x2: x, y1: top, y2: H - bottom, "class": "pc-axis" }, svg);
      var label = el("text", { x: x, y: 14, "text-anchor": "middle", "class": "pc-label" + (dm.objective ? " objective" : "") }, svg);
      label.textContent = dm.name;
      var lo = el("text", { x: x + 4, y: H - 6, "class": "pc-tick" }, svg);
      lo.textContent = dm.numeric ? String(dm.min) : dm.cats[0];
      var hi = el("text", { x: x + 4, y: top + 10, "class": "pc-tick" }, svg);
      hi.textContent = dm.numeric ? String(dm.max) : dm.cats[dm.cats.length - 1];
    });
    function hover(name, on) {
      if (lines[name]) lines[name].classList.toggle("hover", on);
      var row = document.querySelector('#trials tr[data-trial="' + name + '"]');
      if (row) row.classList.toggle("hover", on);
    }
    document.querySelectorAll("#trials tr[data-trial]").forEach(function (row) {
      row.addEventListener("mouseenter", function () { hover(row.dataset.trial, true); });
      row.addEventListener("mouseleave", function () { hover(row.dataset.trial, false); });
    });
    box.dimHidden = function () {
      document.querySelectorAll("#trials tr[data-trial]").forEach(function (row) {
        if (lines[row.dataset.trial]) lines[row.dataset.trial].classList.toggle("dim", row.hidden);
      });
    };
    box.dimHidden();
    box.classList.add("drawn");
  }

  function drawCharts(root) {
    root.querySelectorAll("[data-trials]").forEach(function (box) {
      if (box.kfupDrawn) return;
      box.kfupDrawn = true;
      withTrials(box.dataset.trials, function (d) {
        if (box.dataset.chart === "objective") objectiveChart(box, d);
        else parcoords(box, d);
      });
    });
  }
  document.addEventListener("kfup:filtered", function () {
    document.querySelectorAll("[data-chart=parcoords]").forEach(function (b) { if (b.dimHidden) b.dimHidden(); });
  });

  // An ROC curve of a metrics artifact (data-roc: [[fpr...], [tpr...]]).
  function drawROC(box) {
    if (!window.uPlot || box.kfupDrawn) return;
    box.kfupDrawn = true;
    var d = JSON.parse(box.dataset.roc);
    new uPlot({
      width: Math.max(260, box.clientWidth - 8), height: 220,
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      axes: [{ label: "false positive rate" }, { label: "true positive rate" }],
      series: [{ label: "FPR" }, { label: "TPR", stroke: "#2754c5", width: 2 }],
    }, d, box);
  }

  // A trial's metrics over time (data-series: [{name, steps, values, times}]): one chart
  // per metric, by report number, each with its own scale; the time of a report, when
  // its collector saw one, in the legend.
  function drawSeries(box) {
    if (!window.uPlot || box.kfupDrawn) return;
    box.kfupDrawn = true;
    var all = JSON.parse(box.dataset.series);
    box.textContent = "";
    all.forEach(function (sr) {
      var one = document.createElement("div");
      one.className = "chart series";
      one.dataset.metric = sr.name;
      box.appendChild(one);
      new uPlot({
        width: Math.max(300, Math.min(560, box.clientWidth - 8)), height: 200,
        scales: { x: { time: false } },
        axes: [{ label: "report" }, { label: sr.name }],
        series: [{ label: "report", value: function (u, v, si, i) { return v == null ? "" : v + (i != null && sr.times[i] ? " at " + sr.times[i] : ""); } },
          { label: sr.name, stroke: "#2754c5", width: 2, points: { show: sr.steps.length < 60, size: 6, fill: "#2754c5" } }],
      }, [sr.steps, sr.values], one);
    });
    box.classList.add("drawn");
  }

  function wire(root) {
    if (!root || !root.querySelectorAll) return;
    tables(root);
    root.querySelectorAll("[data-roc]").forEach(drawROC);
    root.querySelectorAll("[data-series]").forEach(drawSeries);
    root.querySelectorAll("[data-dag]").forEach(drawDAG);
    drawCharts(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    startLive();
    namespaceSelector();
  });
  // htmx calls this for the page once loaded and for every fragment it swaps in (a live
  // refresh replaces the region: its new elements are wired again)
  htmx.onLoad(wire);
})();
