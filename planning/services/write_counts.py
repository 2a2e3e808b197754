"""What a cell write did, counted: the plan's write path and the actuals' report the same
four outcomes, so callers (pages, API, commands) read them one way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WriteCounts:
    """Cells added, changed (a new value), unchanged (the same value again) and deleted
    (cleared)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.deleted

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }
