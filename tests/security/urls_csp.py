"""Test pages for the CSP browser check: a Plotly chart loaded the way the app loads it."""

from pathlib import Path

import plotly
from django.http import FileResponse, HttpResponse
from django.urls import path

from sofp.urls import urlpatterns as site_urlpatterns

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

CHART_JS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations = window.cspViolations || [];
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
var data = JSON.parse(document.getElementById("fig").textContent);
Plotly.newPlot("chart", data.data, data.layout, {responsive: true}).then(function () {
  document.body.dataset.ready = "1";
});
"""

FIGURE = (
    '{"data": [{"x": ["2027-01", "2027-02", "2027-03"], "y": [120, 90, 140], "type": "bar"},'
    ' {"x": ["2027-01", "2027-02", "2027-03"], "y": [100, 110, 130], "type": "scatter"}],'
    ' "layout": {"title": {"text": "Demand"}, "height": 320}}'
)


def page(request):
    nonce = request.csp_nonce
    html = f"""<!doctype html><html><head><title>csp</title></head><body>
<div id="chart"></div>
<script id="fig" type="application/json">{FIGURE}</script>
<script nonce="{nonce}">window.nonceRan = true;</script>
<script>window.inlineRan = true;</script>
<script src="/test/plotly.min.js"></script>
<script src="/test/chart.js"></script>
</body></html>"""
    return HttpResponse(html)


def plotly_js(request):
    return FileResponse(open(PLOTLY_JS, "rb"), content_type="text/javascript")


def chart_js(request):
    return HttpResponse(CHART_JS, content_type="text/javascript")


urlpatterns = [
    path("test/csp/", page),
    path("test/plotly.min.js", plotly_js),
    path("test/chart.js", chart_js),
    *site_urlpatterns,
]
