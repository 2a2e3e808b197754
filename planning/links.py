"""Links into the planning grid: the one builder of a cell's address.

``/cycles/YYYY-MM/grid/<stream>/?family=F&month=YYYY-MM&measure=M`` opens the grid with
that cell active, focused, scrolled into view and highlighted (``static/js/grid.js``);
company-wide measures open the company page the same way. Exceptions, the cycle's
history of plan changes and the reconcile page all link through here. Pure Python (no
Django) so the pure dashboard shaping can use it too.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from planning.measures import COMPANY, MEASURE_SCOPE


def grid_cell_url(
    cycle_label: str, value_stream: str, *, measure: str, family: str = "", month: str = ""
) -> str:
    """The address of one grid cell (``month`` is ``YYYY-MM``; empty family and month
    are left out; an empty stream or a company measure means the company page)."""
    query = urlencode(
        {k: v for k, v in (("family", family), ("month", month), ("measure", measure)) if v}
    )
    if not value_stream or MEASURE_SCOPE.get(measure) == COMPANY:
        return f"/cycles/{cycle_label}/company/?{query}"
    return f"/cycles/{cycle_label}/grid/{quote(value_stream, safe='')}/?{query}"
