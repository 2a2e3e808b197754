/* Draw every server-built Plotly figure on the page.
 *
 * Each chart is a <div data-figure="ID"> whose figure JSON (plotly's own fig.to_json())
 * sits in <script type="application/json" id="ID">. No inline code, so the page works
 * under a strict Content-Security-Policy. Needs static/vendor/plotly/plotly.min.js first.
 */
(function () {
  "use strict";

  var CONFIG = { displaylogo: false, responsive: true };
  document.documentElement.classList.add("js");

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source || !window.Plotly) { return; }
    var figure;
    try {
      figure = JSON.parse(source.textContent);
    } catch (err) {
      el.textContent = "This chart could not be read.";
      return;
    }
    window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG);
  }

  function resizeAll() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".js-plotly-plot").forEach(function (el) {
      window.Plotly.Plots.resize(el);
    });
  }

  /* Filters (cycle, family, month pickers) apply as soon as a value is picked; the
   * submit button stays for keyboards and pages without JavaScript. */
  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function init() {
    document.querySelectorAll("[data-figure]").forEach(draw);
    autoSubmit();
    printButtons();
    /* Printing: redraw at the paper's width, and back afterwards. */
    window.addEventListener("beforeprint", resizeAll);
    window.addEventListener("afterprint", resizeAll);
    if (window.matchMedia) {
      var print = window.matchMedia("print");
      if (print.addEventListener) { print.addEventListener("change", resizeAll); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
