"""Deadline reminders: what is due at a moment, claimed once, then sent by e-mail.

Exactly-once design
-------------------
1. :func:`reminders_due` works out, for a given ``now``, every reminder that should have
   gone out (pure reading; the same answer every time it is asked).
2. :func:`reminders_send` *claims* each one by inserting its :class:`ReminderDelivery`
   row, whose ``key`` is unique (``kind:offset:step<id>:user<id>``). The in-app
   :class:`Notification` is written in the same transaction, so it exists exactly
   once. A second beat tick, a second worker or a retried task hits the unique key
   (IntegrityError) and does nothing.
3. Each claimed row is sent by :func:`delivery_send` (a Celery task per row, enqueued
   after commit; or inline from the command). A sender first takes a short *lease*
   (``locked_until``) with one conditional UPDATE, so two senders never mail the same
   row at once; success marks it ``sent``. A transient mail error releases the lease
   and raises :class:`TransientDeliveryError` (the task retries with backoff); a
   permanent one, or too many attempts, marks it ``failed`` with ``last_error``.
4. A crash between claim and send leaves the row ``pending``: every run of
   :func:`reminders_send` re-dispatches pending rows older than ``RECOVER_AFTER``
   whose lease has expired. The only window for a duplicate e-mail is a crash after
   the SMTP server accepted the message and before the row was marked sent.

Times are aware throughout: deadlines are stored in UTC (built from the company's
local times), and "24 h before" means 24 elapsed hours, also across a daylight-saving
change.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from planning.models import (
    Company,
    CycleStatus,
    CycleStep,
    Decision,
    DecisionStatus,
    Notification,
    ReminderDelivery,
    StepStatus,
)
from planning.selectors.cycles import company_holidays, step_owner_users

logger = logging.getLogger(__name__)

DEFAULT_HOURS = (24, 2)
MAX_ATTEMPTS = 6
LEASE = dt.timedelta(minutes=5)
RECOVER_AFTER = dt.timedelta(minutes=30)

KIND_DEADLINE = "deadline"
KIND_MEETING = "meeting"
KIND_OVERDUE = "overdue"
KIND_DECISION_DUE = "decision_due"
KIND_DECISION_OVERDUE = "decision_overdue"
KIND_MONTH_CLOSE = "month_close"


class TransientDeliveryError(Exception):
    """The mail server may accept the message later: retry with backoff."""


# SMTP errors that will not go away by trying again.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)


def error_is_transient(exc: BaseException) -> bool:
    """Disconnects, timeouts, refused connections and 4xx replies are worth retrying."""
    if isinstance(exc, PERMANENT_ERRORS):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPException | ConnectionError | TimeoutError | OSError)


@dataclass(frozen=True)
class ReminderSpec:
    key: str
    kind: str
    offset: str
    recipient_id: int
    due_at: dt.datetime
    step_id: int | None = None
    decision_id: int | None = None


@dataclass
class RemindersResult:
    claimed: int = 0
    already: int = 0
    recovered: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    keys: list[str] = field(default_factory=list)


def reminder_hours(company: Company) -> list[float]:
    hours = company.reminder_hours_before or list(DEFAULT_HOURS)
    return sorted({float(h) for h in hours if h and float(h) > 0})


def _fmt_hours(h: float) -> str:
    return f"{int(h)}h" if float(h).is_integer() else f"{h:g}h"


def _offset_due(*, due: dt.datetime, now: dt.datetime, hours: list[float]) -> float | None:
    """The smallest offset whose window has opened (``due - h <= now < due``).

    Asking for the smallest means a late run (beat down for a while) sends one timely
    reminder instead of the 24 h and the 2 h one together.
    """
    if now >= due:
        return None
    open_ = [h for h in hours if due - dt.timedelta(hours=h) <= now]
    return min(open_) if open_ else None


def reminders_due(*, now: dt.datetime) -> list[ReminderSpec]:
    """Every reminder that should have been sent by ``now`` (already sent ones included;
    the claim filters those)."""
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    company = Company.get()
    tz = zoneinfo.ZoneInfo(company.time_zone)
    hours = reminder_hours(company)
    horizon = now + dt.timedelta(hours=max(hours, default=0))
    steps = (
        CycleStep.objects.filter(
            cycle__status__in=[CycleStatus.DRAFT, CycleStatus.IN_PROGRESS],
        )
        .exclude(status=StepStatus.DONE)
        .filter(
            Q(input_deadline__gt=now, input_deadline__lte=horizon)
            | Q(meeting_start__gt=now, meeting_start__lte=horizon)
            | Q(meeting_end__lte=now)
        )
        .prefetch_related("participants")
        .order_by("meeting_start", "pk")
    )
    owner_cache: dict[str, list[int]] = {}
    specs: list[ReminderSpec] = []
    for step in steps:
        recipients = sorted(u.pk for u in step.participants.all() if u.is_active)
        if not recipients:
            recipients = owner_cache.setdefault(
                step.owner_role,
                sorted(step_owner_users(step.owner_role).values_list("pk", flat=True)),
            )
        events: list[tuple[str, str, dt.datetime]] = []
        for kind, due in ((KIND_DEADLINE, step.input_deadline), (KIND_MEETING, step.meeting_start)):
            h = _offset_due(due=due, now=now, hours=hours)
            if h is not None:
                events.append((kind, _fmt_hours(h), due))
        if now >= step.meeting_end:
            events.append((KIND_OVERDUE, "0h", step.meeting_end))
        for kind, offset, due in events:
            for uid in recipients:
                specs.append(
                    ReminderSpec(
                        key=f"{kind}:{offset}:step{step.pk}:user{uid}",
                        kind=kind,
                        offset=offset,
                        recipient_id=uid,
                        due_at=due,
                        step_id=step.pk,
                    )
                )
    specs += _month_close_specs(company=company, now=now, hours=hours)
    today = now.astimezone(tz).date()
    decisions = Decision.objects.filter(
        status=DecisionStatus.OPEN,
        owner__isnull=False,
        owner__is_active=True,
        due_date__isnull=False,
        due_date__lte=today + dt.timedelta(days=1),
    ).order_by("due_date", "pk")
    for d in decisions:
        kind, offset = (
            (KIND_DECISION_OVERDUE, "0d") if d.due_date < today else (KIND_DECISION_DUE, "1d")
        )
        specs.append(
            ReminderSpec(
                key=f"{kind}:{offset}:decision{d.pk}:user{d.owner_id}",
                kind=kind,
                offset=offset,
                recipient_id=d.owner_id,
                due_at=dt.datetime.combine(d.due_date, dt.time(0), tzinfo=tz),
                decision_id=d.pk,
            )
        )
    return specs


def _month_close_specs(
    *, company: Company, now: dt.datetime, hours: list[float]
) -> list[ReminderSpec]:
    """The month-close deadline (actuals of last month due working day 1, 12:00): each
    stream whose operational actuals are not all entered reminds its planners and
    managers, like a step's input deadline."""
    from planning.calendar import month_add, month_close_deadline
    from planning.measures import ACTUAL_STREAM_FACTS
    from planning.models import Actual
    from valuestreams.models import Membership, ValueStream

    tz = zoneinfo.ZoneInfo(company.time_zone)
    local_month = now.astimezone(tz).date().replace(day=1)
    specs: list[ReminderSpec] = []
    for month in (local_month, month_add(local_month, 1)):
        due = month_close_deadline(
            month=month,
            holidays=company_holidays(company),
            time_zone=company.time_zone,
            deadline=company.input_deadline,
        )
        h = _offset_due(due=due, now=now, hours=hours)
        if h is None:
            continue
        closing = month_add(month, -1)
        done = {
            vs
            for vs, n in Actual.objects.filter(
                month=closing, product_family__isnull=True, measure__in=ACTUAL_STREAM_FACTS
            )
            .values_list("value_stream_id")
            .annotate(n=Count("pk"))
            if n >= len(ACTUAL_STREAM_FACTS)
        }
        members = Membership.objects.filter(
            value_stream__in=ValueStream.objects.filter(active=True).exclude(pk__in=done),
            user__is_active=True,
        ).values_list("value_stream_id", "user_id")
        for vs_id, uid in sorted(set(members)):
            specs.append(
                ReminderSpec(
                    key=f"{KIND_MONTH_CLOSE}:{_fmt_hours(h)}:vs{vs_id}:{closing:%Y-%m}:user{uid}",
                    kind=KIND_MONTH_CLOSE,
                    offset=_fmt_hours(h),
                    recipient_id=uid,
                    due_at=due,
                )
            )
    return specs


# --- Content ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderContent:
    title: str
    text: str
    html: str
    path: str


def _local(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%a %d %b %Y, %H:%M %Z")


def reminder_content(delivery: ReminderDelivery) -> ReminderContent:
    """Subject, plain text, HTML and the in-app link of one reminder."""
    company = Company.get()
    tz = zoneinfo.ZoneInfo(company.time_zone)
    step, decision = delivery.step, delivery.decision
    offset = delivery.key.split(":")[1]
    if delivery.kind == KIND_MONTH_CLOSE:
        return _month_close_content(delivery, company=company, tz=tz, offset=offset)
    if step is not None:
        cycle = step.cycle
        path = reverse("cycle_detail", args=[cycle.label]) + f"#step-{step.number}"
        what = f"step {step.number} “{step.name}” of cycle {cycle.label}"
        if delivery.kind == KIND_DEADLINE:
            title = f"Inputs for {what} are due {_local(step.input_deadline, tz)}"
            lead = f"Reminder ({offset.replace('h', ' h')} before): the input deadline is near."
        elif delivery.kind == KIND_MEETING:
            title = f"Meeting for {what} starts {_local(step.meeting_start, tz)}"
            lead = f"Reminder ({offset.replace('h', ' h')} before): the meeting is coming up."
        else:
            title = f"Overdue: {what} is not done"
            lead = f"The meeting ended {_local(step.meeting_end, tz)} and the step is not done."
        facts = [
            ("Input deadline", _local(step.input_deadline, tz)),
            ("Meeting", f"{_local(step.meeting_start, tz)} – {_local(step.meeting_end, tz)}"),
            ("Status", step.get_status_display()),
        ]
        if _is_board_pack_reminder(delivery):
            pack_path = reverse("board_pack", args=[cycle.label])
            facts.append(("Board pack (PDF)", settings.SITE_URL.rstrip("/") + pack_path))
        agenda = step.agenda
    else:
        cycle = decision.cycle
        path = reverse("cycle_detail", args=[cycle.label]) + f"#decision-{decision.pk}"
        due = decision.due_date.strftime("%a %d %b %Y")
        if delivery.kind == KIND_DECISION_OVERDUE:
            title = f"Overdue decision (due {due}): {decision.text[:80]}"
            lead = "This decision you own is past its due date and still open."
        else:
            title = f"Decision due {due}: {decision.text[:80]}"
            lead = "This decision you own falls due."
        facts = [("Cycle", cycle.label), ("Due", due), ("Status", decision.get_status_display())]
        agenda = decision.text
    return _rendered(
        delivery, company=company, title=title, lead=lead, facts=facts, agenda=agenda, path=path
    )


def _month_close_content(
    delivery: ReminderDelivery, *, company: Company, tz: zoneinfo.ZoneInfo, offset: str
) -> ReminderContent:
    from valuestreams.models import ValueStream

    _, _, vs_part, month, _ = delivery.key.split(":")
    stream = ValueStream.objects.filter(pk=int(vs_part[2:])).first()
    code = stream.code if stream else "?"
    path = reverse("month_close", kwargs={"code": code}) + f"?month={month}"
    return _rendered(
        delivery,
        company=company,
        title=f"Month close {month} of {code}: actuals due {_local(delivery.due_at, tz)}",
        lead=f"Reminder ({offset.replace('h', ' h')} before): enter last month's actuals.",
        facts=[("Value stream", code), ("Month", month), ("Due", _local(delivery.due_at, tz))],
        agenda="Operational actuals, actual hours and costs, family sales and production.",
        path=path,
    )


def _rendered(
    delivery: ReminderDelivery,
    *,
    company: Company,
    title: str,
    lead: str,
    facts: list[tuple[str, str]],
    agenda: str,
    path: str,
) -> ReminderContent:
    """A reminder's mail (text and HTML from the one pair of templates) and its link."""
    ctx = {
        "title": title,
        "lead": lead,
        "facts": facts,
        "agenda": agenda,
        "url": settings.SITE_URL.rstrip("/") + path,
        "company": company,
        "recipient": delivery.recipient,
    }
    return ReminderContent(
        title=title[:300],
        text=render_to_string("planning/email/reminder.txt", ctx),
        html=render_to_string("planning/email/reminder.html", ctx),
        path=path,
    )


BOARD_PACK_STEP = 5
BOARD_PACK_OFFSET = "24h"


def _is_board_pack_reminder(delivery: ReminderDelivery) -> bool:
    """The step-5 meeting reminder 24 h before: it carries the board pack."""
    step = delivery.step
    return (
        delivery.kind == KIND_MEETING
        and step is not None
        and step.number == BOARD_PACK_STEP
        and delivery.key.split(":")[1] == BOARD_PACK_OFFSET
    )


def _attach_board_pack(message: EmailMultiAlternatives, delivery: ReminderDelivery) -> None:
    """Build (or reuse) the cycle's pre-read and attach it when small enough; the mail
    links to the pack whatever happens, so a failed print never holds a reminder back."""
    from planning.services.board_pack import (
        board_pack_attachable,
        board_pack_filename,
        board_pack_pre_read,
    )

    try:
        pack = board_pack_pre_read(delivery.step.cycle)
    except Exception:  # the reminder matters more than its attachment
        logger.exception("board pack for reminder %s failed", delivery.key)
        return
    if board_pack_attachable(pack):
        message.attach(
            board_pack_filename(pack.cycle, pack.kind), bytes(pack.pdf), "application/pdf"
        )


# --- Claim, send, recover ---------------------------------------------------------------


def reminder_claim(spec: ReminderSpec) -> ReminderDelivery | None:
    """Insert the delivery row and its notification; None when someone claimed it first."""
    try:
        with transaction.atomic():
            delivery = ReminderDelivery.objects.create(
                key=spec.key,
                kind=spec.kind,
                step_id=spec.step_id,
                decision_id=spec.decision_id,
                recipient_id=spec.recipient_id,
                due_at=spec.due_at,
            )
            delivery = ReminderDelivery.objects.select_related(
                "recipient", "step__cycle", "decision__cycle"
            ).get(pk=delivery.pk)
            content = reminder_content(delivery)
            Notification.objects.create(
                user_id=spec.recipient_id,
                kind=spec.kind,
                title=content.title,
                body=content.text,
                url=content.path,
                step_id=spec.step_id,
                decision_id=spec.decision_id,
            )
    except IntegrityError:
        return None
    return delivery


def _mark(delivery_id: int, **fields: object) -> None:
    ReminderDelivery.objects.filter(pk=delivery_id).update(**fields)


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed reminder by e-mail; returns sent / failed / skipped.

    Raises :class:`TransientDeliveryError` when trying again later may help.
    """
    now = now or timezone.now()
    leased = (
        ReminderDelivery.objects.filter(pk=delivery_id, status=ReminderDelivery.Status.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE, attempts=F("attempts") + 1)
    )
    if not leased:
        return "skipped"  # sent, failed, gone, or another sender holds it
    delivery = ReminderDelivery.objects.select_related(
        "recipient", "step__cycle", "decision__cycle"
    ).get(pk=delivery_id)
    if not delivery.recipient.email:
        _mark(
            delivery_id,
            status=ReminderDelivery.Status.FAILED,
            locked_until=None,
            last_error="The recipient has no e-mail address (the in-app notification was shown).",
        )
        return "failed"
    content = reminder_content(delivery)
    message = EmailMultiAlternatives(
        subject=f"[SOFP] {content.title}",
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient.email],
    )
    message.attach_alternative(content.html, "text/html")
    if _is_board_pack_reminder(delivery) and settings.SOFP_BOARD_PACK_AUTO:
        _attach_board_pack(message, delivery)
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if error_is_transient(exc) and delivery.attempts < MAX_ATTEMPTS:
            _mark(delivery_id, locked_until=None, last_error=error)
            logger.warning("reminder %s: transient mail error, will retry: %s", delivery.key, error)
            raise TransientDeliveryError(error) from exc
        _mark(
            delivery_id,
            status=ReminderDelivery.Status.FAILED,
            locked_until=None,
            last_error=error,
        )
        logger.error("reminder %s failed permanently: %s", delivery.key, error)
        return "failed"
    _mark(
        delivery_id,
        status=ReminderDelivery.Status.SENT,
        sent_at=timezone.now(),
        locked_until=None,
        last_error="",
    )
    return "sent"


def deliveries_stale(*, now: dt.datetime) -> list[int]:
    """Pending rows nobody is working on: a crash between claim and send, a lost task."""
    return list(
        ReminderDelivery.objects.filter(
            status=ReminderDelivery.Status.PENDING,
            created_at__lte=now - RECOVER_AFTER,
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def deliveries_retry(*, ids: list[int]) -> int:
    """Put failed deliveries back to pending (e.g. after fixing an address); the next
    run of :func:`reminders_send` sends them."""
    return ReminderDelivery.objects.filter(
        pk__in=ids, status=ReminderDelivery.Status.FAILED
    ).update(status=ReminderDelivery.Status.PENDING, attempts=0, locked_until=None)


def _keys_claimed(keys: list[str], chunk: int = 500) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), chunk):
        found.update(
            ReminderDelivery.objects.filter(key__in=keys[i : i + chunk]).values_list(
                "key", flat=True
            )
        )
    return found


def _send_inline(delivery_id: int, now: dt.datetime, result: RemindersResult) -> None:
    try:
        outcome = delivery_send(delivery_id=delivery_id, now=now)
    except TransientDeliveryError:
        result.pending += 1
        return
    if outcome == "sent":
        result.sent += 1
    elif outcome == "failed":
        result.failed += 1


def reminders_send(
    *,
    now: dt.datetime | None = None,
    enqueue: Callable[[int], None] | None = None,
) -> RemindersResult:
    """Claim every reminder due at ``now`` and send it.

    ``enqueue`` (the beat task passes one that schedules a Celery task per delivery,
    after commit) sends asynchronously with retries; without it the e-mails are sent
    inline and a transient failure stays pending for the next run.
    """
    now = now or timezone.now()
    result = RemindersResult()
    to_send: list[int] = []
    specs = reminders_due(now=now)
    claimed_before = _keys_claimed([spec.key for spec in specs])
    for spec in specs:
        if spec.key in claimed_before:  # the cheap path; the unique key stays the guard
            result.already += 1
            continue
        delivery = reminder_claim(spec)
        if delivery is None:
            result.already += 1
            continue
        result.claimed += 1
        result.keys.append(spec.key)
        to_send.append(delivery.pk)
    stale = [pk for pk in deliveries_stale(now=now) if pk not in set(to_send)]
    result.recovered = len(stale)
    for pk in to_send + stale:
        if enqueue is not None:
            enqueue(pk)
        else:
            _send_inline(pk, now, result)
    return result
