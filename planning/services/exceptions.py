"""Acknowledging step-5 exceptions: the meeting has seen one and says why it stands."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from planning.engine import KINDS
from planning.models import ExceptionAcknowledgement, PlanningCycle
from planning.selectors.cycles import cycle_refuse_frozen, user_can_approve
from planning.services.cycles import audit_record
from sofp.errors import PermissionDenied, ValidationFailed

NOTE_MAX = 2000


def _check_key(key: str) -> str:
    """``kind:stream:family:YYYY-MM`` with a known kind (the shape the review posts)."""
    key = (key or "").strip()
    parts = key.split(":")
    if len(parts) != 4 or parts[0] not in KINDS or not parts[1] or len(key) > 200:
        raise ValidationFailed.of_field("key", f"{key!r} does not name an exception.")
    return key


@transaction.atomic
def exception_acknowledge(
    *, cycle: PlanningCycle, user: AbstractBaseUser, key: str, note: str
) -> ExceptionAcknowledgement:
    """Executives acknowledge an exception with a note; again = the note is replaced."""
    locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(locked, "exceptions")
    if not user_can_approve(user, locked):
        raise PermissionDenied("Only executives acknowledge exceptions.")
    key = _check_key(key)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed.of_field("note", "Say why the exception stands (a note).")
    if len(note) > NOTE_MAX:
        raise ValidationFailed.of_field("note", f"The note is longer than {NOTE_MAX:,} characters.")
    ack, created = ExceptionAcknowledgement.objects.update_or_create(
        cycle=locked,
        key=key,
        defaults={"note": note, "acknowledged_by": user, "acknowledged_at": timezone.now()},
    )
    audit_record(
        cycle=locked,
        obj=ack,
        action="acknowledge",
        field="note",
        old="" if created else "(earlier note)",
        new=note,
        note=key,
        user=user,
    )
    return ack
