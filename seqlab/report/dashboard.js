// seqlab dashboard: draws the figures, sorts and filters the runs table, and on a live
// dashboard reloads the page when the runs record new results (keeping the filters).
(function () {
  "use strict";
  var STATE_KEY = "seqlab-dashboard-filters";

  function drawPlots() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll(".plot").forEach(function (div) {
      var data = document.getElementById(div.id + "-data");
      if (!data) return;
      var fig = JSON.parse(data.textContent);
      Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }

  function rows() {
    var table = document.getElementById("runs-table");
    return table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  }

  function applyFilters() {
    var task = valueOf("filter-task"), model = valueOf("filter-model");
    var text = valueOf("filter-text").toLowerCase();
    var shown = 0, all = rows();
    all.forEach(function (tr) {
      var ok = (!task || tr.dataset.task === task) && (!model || tr.dataset.model === model) &&
        (!text || tr.textContent.toLowerCase().indexOf(text) >= 0);
      tr.style.display = ok ? "" : "none";
      if (ok) shown += 1;
    });
    var count = document.getElementById("runs-count");
    if (count) count.textContent = "showing " + shown + " of " + all.length + " runs";
    try {
      sessionStorage.setItem(STATE_KEY, JSON.stringify({ task: task, model: model, text: text }));
    } catch (e) { /* storage unavailable (a file: page in some browsers) */ }
  }

  function valueOf(id) {
    var el = document.getElementById(id);
    return el ? el.value : "";
  }

  function sortBy(th) {
    var table = document.getElementById("runs-table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.dataset.type === "num";
    var asc = !th.classList.contains("sorted-asc");
    th.parentNode.querySelectorAll("th").forEach(function (h) {
      h.classList.remove("sorted-asc", "sorted-desc");
    });
    th.classList.add(asc ? "sorted-asc" : "sorted-desc");
    var sorted = rows().sort(function (a, b) {
      var x = a.cells[index].dataset.sort, y = b.cells[index].dataset.sort;
      if (x === "" || y === "") return (x === "") - (y === "");  // blanks last
      var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return asc ? c : -c;
    });
    sorted.forEach(function (tr) { table.tBodies[0].appendChild(tr); });
  }

  function restoreFilters() {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(STATE_KEY) || "null"); } catch (e) {}
    if (!saved) return;
    [["filter-task", saved.task], ["filter-model", saved.model], ["filter-text", saved.text]]
      .forEach(function (p) {
        var el = document.getElementById(p[0]);
        if (el && p[1] !== undefined &&
            (el.tagName !== "SELECT" || el.querySelector('option[value="' + CSS.escape(p[1]) + '"]'))) {
          el.value = p[1];
        }
      });
  }

  function watch() {
    var version = null;
    function poll() {
      fetch("version", { cache: "no-store" }).then(function (r) { return r.json(); })
        .then(function (v) {
          if (version !== null && v.version !== version) location.reload();
          version = v.version;
        })
        .catch(function () { /* server gone: keep the page as it is */ })
        .then(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawPlots();
    restoreFilters();
    ["filter-task", "filter-model", "filter-text"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.addEventListener("input", applyFilters);
    });
    document.querySelectorAll("#runs-table th").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(th); });
    });
    applyFilters();
    if (document.body.dataset.live) watch();
  });
})();
