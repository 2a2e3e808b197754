"""What is still open when the executives approve (step 5's confirmation).

Approving freezes the plan, so the confirmation names what the plan carries into the
freeze: overloads, shortages, demand changes beyond the threshold that nobody explained
(no comment on the demand cell, no open or confirmed assumption covering it), and open
decisions. Read-only; the review and the approve view both ask here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from planning import dashboards
from planning.models import Decision, DecisionStatus, Measure, PlanningCycle, PlanValue
from planning.selectors.assumptions import explained_demand_cells
from planning.selectors.plans import cycle_analysis
from sofp.prepared import PreparedQuery

# Shown in full up to this many per kind; the count always says how many there are.
SHOWN_PER_KIND = 20


@dataclass
class OpenItems:
    """The open items of one kind: how many, and the first few with their grid links.

    The rows are written when first read: the review shows the counts only (the
    confirmation page lists the rows), and writing them was a tenth of its analysis."""

    label: str
    count: int
    frame: pd.DataFrame = field(repr=False)
    cycle_label: str

    @cached_property
    def rows(self) -> list[dict]:
        return dashboards.exception_rows(self.frame, self.cycle_label, limit=SHOWN_PER_KIND)


@dataclass
class ApprovalOpenItems:
    overloads: OpenItems
    shortages: OpenItems
    unexplained_demand_changes: OpenItems
    open_decisions: list[Decision]

    @property
    def total(self) -> int:
        return (
            self.overloads.count
            + self.shortages.count
            + self.unexplained_demand_changes.count
            + len(self.open_decisions)
        )

    @property
    def groups(self) -> list[OpenItems]:
        return [self.overloads, self.shortages, self.unexplained_demand_changes]


def _commented_demand_cells(cycle: PlanningCycle) -> set[str]:
    """``stream:family:YYYY-MM`` of the demand cells that carry a comment (SQL compiled
    once per process: on the demo, building the query cost more than running it)."""
    cells = _COMMENTED_DEMAND.rows(cycle_id=cycle.pk)
    return {f"{vs}:{pf or ''}:{month:%Y-%m}" for vs, pf, month in cells}


_COMMENTED_DEMAND = PreparedQuery(
    lambda cycle_id: (
        PlanValue.objects.filter(cycle_id=cycle_id, measure=Measure.DEMAND)
        .exclude(comment="")
        .values_list("value_stream__code", "product_family__code", "month")
    ),
    convert=True,
    cycle_id=-914_275,  # no real cycle's id: each run swaps the cycle's in
)


def _cell_keys(changes: pd.DataFrame) -> pd.Series:
    """``stream:family:YYYY-MM`` of each row, each distinct month formatted once."""
    at, months = pd.factorize(changes["month"])
    labels = np.array([*(m.strftime("%Y-%m") for m in months), np.nan], dtype=object)
    month = pd.Series(labels.take(at), index=changes.index, dtype=object)
    return (
        changes["value_stream"].astype(str)
        + ":"
        + changes["product_family"].astype(str)
        + ":"
        + month
    )


def _cell_key_list(changes: pd.DataFrame) -> list[str | None]:
    """:func:`_cell_keys` as a list, written in plain Python (the Series' string
    concatenation cost ~0.5 ms); a missing month gives None, as NaN there."""
    at, months = pd.factorize(changes["month"])
    labels = [m.strftime("%Y-%m") for m in months]
    out: list[str | None] = []
    for vs, pf, i in zip(
        changes["value_stream"].to_numpy(dtype=object).tolist(),
        changes["product_family"].to_numpy(dtype=object).tolist(),
        at.tolist(),
        strict=True,
    ):
        out.append(None if i < 0 else f"{_text(vs)}:{_text(pf)}:{labels[i]}")
    return out


def _text(value: object) -> str:
    """``Series.astype(str)`` of one value: NaN reads "nan", as str() of the float."""
    return value if type(value) is str else str(value)


def _items(label: str, frame: pd.DataFrame, cycle: PlanningCycle) -> OpenItems:
    return OpenItems(label=label, count=len(frame), frame=frame, cycle_label=cycle.label)


def approval_open_items(
    *, cycle: PlanningCycle, exceptions: pd.DataFrame | None = None
) -> ApprovalOpenItems:
    """Overloads, shortages, unexplained demand changes and open decisions of a cycle.

    ``exceptions``: the whole cycle's, when the caller has them already (the review of
    someone who reads every stream), else they are computed here."""
    ex = cycle_analysis(cycle=cycle).exceptions if exceptions is None else exceptions
    # Each kind's rows by position (one pass over the kinds, not a filter per kind).
    kinds = ex["kind"].to_numpy(dtype=object)
    changes = ex.take(np.flatnonzero(kinds == "demand_change"))
    if len(changes):
        commented = _commented_demand_cells(cycle) | explained_demand_cells(cycle=cycle)
        if commented:  # nothing explained: every change stays (no key per change needed)
            keys = _cell_key_list(changes)
            changes = changes.take(np.flatnonzero([key not in commented for key in keys]))
    decisions = list(
        Decision.objects.filter(cycle=cycle, status=DecisionStatus.OPEN)
        .select_related("owner")
        .order_by("due_date", "pk")
    )
    return ApprovalOpenItems(
        overloads=_items("Overloads", ex.take(np.flatnonzero(kinds == "overloaded")), cycle),
        shortages=_items("Shortages", ex.take(np.flatnonzero(kinds == "shortage")), cycle),
        unexplained_demand_changes=_items("Demand changes without an explanation", changes, cycle),
        open_decisions=decisions,
    )
