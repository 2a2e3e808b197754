"""One helper for plain field updates, so every edit is validated the same way."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def model_update(*, instance: M, fields: list[str], data: dict[str, Any]) -> tuple[M, bool]:
    """Set ``fields`` from ``data``; ``full_clean`` then save only what changed."""
    changed = [f for f in fields if f in data and getattr(instance, f) != data[f]]
    for field in changed:
        setattr(instance, field, data[field])
    if changed:
        instance.full_clean()
        if "updated_at" in {f.name for f in instance._meta.get_fields()}:
            changed.append("updated_at")
        instance.save(update_fields=changed)
    return instance, bool(changed)
