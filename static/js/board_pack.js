/* The board pack's charts: each server-built Plotly figure (see charts.js for the
 * markup) drawn once, static, at its slot's width, so the print never rescales or clips
 * it. When every chart is drawn, <html data-print-ready> tells the printer (sofp/pdf.py)
 * to print. */
(function () {
  "use strict";

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    var figure = JSON.parse(source.textContent);
    var layout = Object.assign({}, figure.layout || {}, {
      width: el.clientWidth,
      height: el.clientHeight,
      autosize: false
    });
    return window.Plotly.newPlot(el, figure.data || [], layout, {
      staticPlot: true,
      displayModeBar: false
    });
  }

  function ready() {
    document.documentElement.setAttribute("data-print-ready", "");
  }

  function init() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
    if (!charts.length || !window.Plotly) { ready(); return; }
    Promise.all(charts.map(function (el) {
      return draw(el).catch(function () { el.textContent = "This chart could not be drawn."; });
    })).then(ready, ready);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
