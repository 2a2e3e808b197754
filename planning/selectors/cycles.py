"""Reading the cycle workflow: who owns a step, timelines, decisions, notifications.

The permission questions of the five steps live here (next to the per-stream rules
in ``valuestreams.selectors``) so that views, services and templates ask one place.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from planning.calendar import month_add
from planning.models import (
    AuditEvent,
    Company,
    CycleStep,
    Decision,
    Notification,
    PlanningCycle,
    ReminderDelivery,
    StepOwnerRole,
    StepStatus,
)
from sofp.errors import FrozenCycleError
from valuestreams.models import Membership
from valuestreams.roles import (
    AnyUser,
    CompanyRole,
    user_is_executive,
    user_is_stream_manager,
    user_roles,
)

# A step's owner role → the company group that holds it (vs_manager is per stream).
ROLE_GROUP = {
    StepOwnerRole.SALES: CompanyRole.SALES,
    StepOwnerRole.FINANCE: CompanyRole.FINANCE,
    StepOwnerRole.EXECUTIVE: CompanyRole.EXECUTIVE,
}


def cycle_refuse_frozen(cycle: PlanningCycle, what: str = "plan") -> None:
    """The frozen rule, for every write: an approved cycle never changes (409).

    ``PlanningCycle.is_frozen`` is the fact; services call this guard (inside their
    transaction, on the locked row) so every path refuses with the same words.
    """
    if cycle.is_frozen:
        raise FrozenCycleError(
            f"Cycle {cycle.label} is approved and frozen; its {what} cannot be changed."
        )


def user_can_start_cycle(user: AnyUser) -> bool:
    """Admins and executives start a month's cycle (``user_is_executive`` counts admins)."""
    return user_is_executive(user)


def user_owns_step(user: AnyUser, step: CycleStep) -> bool:
    """Owner role members (stream managers for ``vs_manager``), executives and admins."""
    if not user.is_authenticated:
        return False
    if user_is_executive(user):  # admins included
        return True
    if step.owner_role == StepOwnerRole.VALUE_STREAM_MANAGERS:
        return user_is_stream_manager(user)
    group = ROLE_GROUP.get(step.owner_role)
    return group is not None and group in user_roles(user)


# --- The rules of the five steps: one function each, for services, views and templates


# Steps move one status at a time, forwards or back (a step reopened by mistake can be
# put back). Step 5 becomes done only through the approval.
STEP_MOVES: dict[str, frozenset[str]] = {
    StepStatus.NOT_STARTED: frozenset({StepStatus.IN_PROGRESS}),
    StepStatus.IN_PROGRESS: frozenset({StepStatus.DONE, StepStatus.NOT_STARTED}),
    StepStatus.DONE: frozenset({StepStatus.IN_PROGRESS}),
}
APPROVAL_STEP = 5


def step_moves(step: CycleStep) -> frozenset[str]:
    """The statuses ``step`` may move to next."""
    moves = STEP_MOVES[step.status]
    return moves - {StepStatus.DONE} if step.number == APPROVAL_STEP else moves


def cycle_steps_open(cycle: PlanningCycle, *, steps: list[CycleStep] | None = None) -> list[int]:
    """ "Steps 1–4 done": the numbers of those that are not (approval needs none, or an
    override reason). ``steps`` saves the query when the caller holds them already."""
    steps = list(cycle.steps.all()) if steps is None else steps
    return sorted(
        s.number for s in steps if s.number < APPROVAL_STEP and s.status != StepStatus.DONE
    )


def user_can_approve(user: AnyUser, cycle: PlanningCycle | None = None) -> bool:
    """Executives (admins included) approve; nobody approves a frozen cycle again."""
    return user_is_executive(user) and not (cycle is not None and cycle.is_frozen)


def user_manages_decisions(user: AnyUser, step: CycleStep | None) -> bool:
    """Decision rights: a step's owners record and edit its decisions; decisions of the
    cycle as a whole (no step) are the executives'."""
    return user_owns_step(user, step) if step is not None else user_is_executive(user)


def user_can_record_decisions(
    user: AnyUser, cycle: PlanningCycle, step: CycleStep | None = None
) -> bool:
    return not cycle.is_frozen and user_manages_decisions(user, step)


def user_can_set_decision_status(
    user: AnyUser, decision: Decision, *, manages: bool | None = None
) -> bool:
    """Its owner or whoever manages its step's decisions (also once the cycle is frozen:
    the follow-up goes on). ``manages`` saves the question when the caller knows."""
    if manages is None:
        manages = user_manages_decisions(user, decision.step)
    return manages or (user.is_authenticated and decision.owner_id == user.pk)


def step_owner_users(step_owner_role: str) -> QuerySet:
    """The users who hold a step's owner role."""
    User = get_user_model()
    if step_owner_role == StepOwnerRole.VALUE_STREAM_MANAGERS:
        q = Q(memberships__role=Membership.Role.MANAGER, memberships__value_stream__active=True)
    else:
        q = Q(groups__name=ROLE_GROUP.get(step_owner_role, step_owner_role))
    return User.objects.filter(q, is_active=True).distinct()


def step_participant_ids(step_owner_role: str) -> set[int]:
    """Owner role holders plus every member of an active value stream."""
    User = get_user_model()
    owners = set(step_owner_users(step_owner_role).values_list("pk", flat=True))
    members = set(
        User.objects.filter(is_active=True, memberships__value_stream__active=True).values_list(
            "pk", flat=True
        )
    )
    return owners | members


# --- Timeline ---------------------------------------------------------------------------


COMPANY_TIME_ZONE_KEY = "sofp:company:time_zone"
COMPANY_CURRENCY_KEY = "sofp:company:currency"
# The company's settings as read during one request (``company_settings_memo``): a page
# formats hundreds of moments and amounts, and each asking Redis cost more than the page.
_settings_memo: ContextVar[dict[str, str] | None] = ContextVar("company_settings", default=None)


@contextmanager
def company_settings_memo() -> Iterator[None]:
    """Within this block (a request: ``CompanyTimezoneMiddleware``) the company's settings
    are read from the cache once; saving the company in the block forgets them."""
    token = _settings_memo.set({})
    try:
        yield
    finally:
        _settings_memo.reset(token)


def _company_setting(key: str, field: str) -> str:
    memo = _settings_memo.get()
    if memo is not None and key in memo:
        return memo[key]
    value = cache.get(key)
    if value is None:
        value = getattr(Company.get(), field)
        cache.set(key, value, timeout=None)
    if memo is not None:
        memo[key] = value
    return value


def company_time_zone() -> str:
    """The company's time zone name, from the cache: every request asks (the time-zone
    middleware), so it must not cost a query. Saving the company clears it
    (``company_cache_clear``, connected in ``planning.apps``)."""
    return _company_setting(COMPANY_TIME_ZONE_KEY, "time_zone")


def company_currency() -> str:
    """The company's currency code (shown on money), cached like the time zone."""
    return _company_setting(COMPANY_CURRENCY_KEY, "currency")


def company_cache_clear(**_: object) -> None:
    """Forget the cached settings now and again when the saving transaction commits
    (so a reader in between cannot keep a value that was rolled back)."""
    keys = [COMPANY_TIME_ZONE_KEY, COMPANY_CURRENCY_KEY]
    memo = _settings_memo.get()
    if memo is not None:
        memo.clear()
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def company_zone() -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(company_time_zone())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(Company._meta.get_field("time_zone").default)


COMPANY_TIME_FORMATS = {
    "": "j M Y, H:i",
    "long": "D j M Y, H:i",
    "short": "D j M, H:i",
    "time": "H:i",
}


def company_time_text(value: dt.datetime, style: str = "") -> str:
    """A moment as every page shows it: in the company's zone, with the zone's
    abbreviation ("30 Nov 2026, 06:36 CET"). The ``|when`` filter, the grid's history
    and its tooltips all use it."""
    zone = company_zone()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    return _time_text(value, COMPANY_TIME_FORMATS.get(style, style), zone)


@functools.lru_cache(maxsize=4096)
def _time_text(value: dt.datetime, fmt: str, zone: zoneinfo.ZoneInfo) -> str:
    """Formatting is slow (Django's ``dateformat``) and a grid shows a thousand cells
    that mostly share a few moments (a file import writes them all at once): each
    moment, format and zone is formatted once per process. (One language: the site
    activates none but ``LANGUAGE_CODE``.)"""
    from django.utils.dateformat import format as date_format

    local = value.astimezone(zone)
    return f"{date_format(local, fmt)} {local.tzname()}"


def company_holidays(company: Company) -> list[dt.date]:
    """The company's holidays (none while its settings are not saved yet)."""
    if company.pk is None:
        return []
    return list(company.holidays.values_list("date", flat=True))


def step_is_overdue(step: CycleStep, *, now: dt.datetime) -> bool:
    """A step is overdue once its meeting has ended and it is still not done."""
    return step.status != StepStatus.DONE and now >= step.meeting_end


@dataclass
class StepRow:
    step: CycleStep
    is_today: bool
    is_overdue: bool
    can_edit: bool  # the user owns the step and the cycle is not frozen
    moves: frozenset[str]  # the statuses the user may move it to (empty: none)
    decisions: list[Decision]  # each with ``can_set_status`` for this user


def cycle_timeline(
    *, cycle: PlanningCycle, user: AnyUser, now: dt.datetime | None = None
) -> list[StepRow]:
    """The five steps with today/overdue flags and what this user may change."""
    now = now or timezone.now()
    tz = company_zone()
    today = now.astimezone(tz).date()
    steps = (
        cycle.steps.order_by("number")
        .prefetch_related(
            Prefetch("participants", queryset=get_user_model().objects.order_by("username")),
            Prefetch(
                "decisions",
                queryset=Decision.objects.select_related("owner").order_by("due_date", "pk"),
            ),
        )
        .all()
    )
    rows = []
    for s in steps:
        owns = user_owns_step(user, s)
        can_edit = owns and not cycle.is_frozen
        decisions = list(s.decisions.all())
        for d in decisions:
            d.can_set_status = user_can_set_decision_status(user, d, manages=owns)
        rows.append(
            StepRow(
                step=s,
                is_today=s.meeting_start.astimezone(tz).date() == today,
                is_overdue=step_is_overdue(s, now=now),
                can_edit=can_edit,
                moves=step_moves(s) if can_edit else frozenset(),
                decisions=decisions,
            )
        )
    return rows


ACTION_LABELS = {
    "start": "Started",
    "approve": "Approved",
    "status": "Status",
    "minutes": "Minutes",
    "create": "New decision",
    "update": "Decision",
}


def cycle_history(*, cycle: PlanningCycle, limit: int = 200) -> list[AuditEvent]:
    """The cycle's audit trail, newest first; each event gets a readable ``subject``."""
    events = list(cycle.audit.select_related("user").order_by("-at", "-pk")[:limit])
    step_numbers = dict(cycle.steps.values_list("pk", "number"))
    for e in events:
        label = ACTION_LABELS.get(e.action, e.action)
        if e.object_type == "cyclestep":
            e.subject = f"Step {step_numbers.get(e.object_id, '?')} · {label.lower()}"
        elif e.object_type == "decision":
            e.subject = label + (f" · {e.field}" if e.action == "update" else "")
        elif e.object_type == "assumption":
            what = f"{e.field} changed" if e.field else e.action.replace("_", " ")
            e.subject = f"Assumption {e.object_id} · {what}"
        else:
            e.subject = f"Cycle {label.lower()}"
    return events


def cycles_overview() -> QuerySet[PlanningCycle]:
    return PlanningCycle.objects.order_by("-month").prefetch_related(
        Prefetch("steps", queryset=CycleStep.objects.order_by("number"))
    )


def cycle_next_month() -> dt.date:
    """The month after the newest cycle, or this month when there is none."""
    last = PlanningCycle.objects.order_by("-month").values_list("month", flat=True).first()
    if last is None:
        return timezone.localdate().replace(day=1)
    return month_add(last, 1)


# --- Decisions --------------------------------------------------------------------------


def decisions_log(
    *, status: str | None = None, owner: str | None = None, cycle: PlanningCycle | None = None
) -> QuerySet[Decision]:
    """Decisions across cycles, newest cycle first; ``owner`` is a username."""
    qs = Decision.objects.select_related("cycle", "step", "owner").order_by(
        "-cycle__month", "due_date", "pk"
    )
    if status:
        qs = qs.filter(status=status)
    if owner:
        qs = qs.filter(owner__username=owner)
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    return qs


def decision_owners() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(decisions_owned__isnull=False)
        .distinct()
        .order_by("username")
    )


def users_active() -> QuerySet:
    """People a decision can be assigned to."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


def cycle_decisions_without_step(*, cycle: PlanningCycle, user: AnyUser) -> list[Decision]:
    """Decisions of the cycle as a whole, each with ``can_set_status`` for ``user``."""
    decisions = list(
        cycle.decisions.filter(step__isnull=True).select_related("owner").order_by("due_date")
    )
    manages = user_manages_decisions(user, None)
    for d in decisions:
        d.can_set_status = user_can_set_decision_status(user, d, manages=manages)
    return decisions


# --- Notifications and deliveries ------------------------------------------------------


def notifications_for(*, user: AbstractBaseUser, unread_only: bool = False) -> QuerySet:
    qs = Notification.objects.filter(user=user).order_by("-created_at", "-pk")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def deliveries_problematic() -> QuerySet[ReminderDelivery]:
    """Failed deliveries and pending ones that have already been tried."""
    return (
        ReminderDelivery.objects.filter(
            Q(status=ReminderDelivery.Status.FAILED)
            | Q(status=ReminderDelivery.Status.PENDING, attempts__gt=0)
        )
        .select_related("recipient", "step__cycle", "decision")
        .order_by("-created_at")
    )
