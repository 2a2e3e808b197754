"""Pages of the five-step cycle, decisions and notifications.

Thin: parse the form, call one service or selector, render. A refused action (a
business rule said no) re-renders the cycle page with the message and the HTTP status
of the error (400 bad input, 403 not yours, 409 frozen or changed meanwhile).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from planning.calendar import parse_month
from planning.models import Decision, DecisionStatus, PlanningCycle
from planning.selectors.approval import approval_open_items
from planning.selectors.board_pack import board_packs_of, user_may_read_board_pack
from planning.selectors.cycles import (
    cycle_decisions_without_step,
    cycle_history,
    cycle_next_month,
    cycle_steps_open,
    cycle_timeline,
    cycles_overview,
    decision_owners,
    decisions_log,
    deliveries_problematic,
    notifications_for,
    user_can_approve,
    user_can_start_cycle,
    user_owns_step,
    users_active,
)
from planning.selectors.plans import cycle_missing_message, cycle_or_404, plan_changes_recent
from planning.services.approval import cycle_approve
from planning.services.cycles import cycle_start
from planning.services.decisions import decision_create, decision_update, user_resolve
from planning.services.exceptions import exception_acknowledge
from planning.services.notifications import notifications_mark_read
from planning.services.steps import step_minutes_set, step_status_set
from sofp.errors import ApplicationError, ValidationFailed, problem_messages


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _parse_date(text: str, field: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed.of_field(
            field, f"{text!r} is not a date (YYYY-MM-DD).", code="bad_date"
        ) from exc


def cycle_month_close(cycle) -> dict:
    """The month-close deadline on the cycle's calendar: actuals of the month before
    the cycle are due on its working day 1 at the company's deadline time (12:00)."""
    from planning.calendar import month_add, month_close_deadline
    from planning.models import Company
    from planning.selectors.cycles import company_holidays

    company = Company.get()
    return {
        "closing": month_add(cycle.month, -1),
        "due": month_close_deadline(
            month=cycle.month,
            holidays=company_holidays(company),
            time_zone=company.time_zone,
            deadline=company.input_deadline,
        ),
    }


def _cycle_page(
    request: HttpRequest,
    cycle: PlanningCycle,
    *,
    status: int = 200,
    minutes_draft: dict[int, str] | None = None,
    decision_draft: dict[str, str] | None = None,
) -> HttpResponse:
    rows = cycle_timeline(cycle=cycle, user=request.user)
    for row in rows:
        row.minutes_text = (minutes_draft or {}).get(row.step.number, row.step.minutes)
    context = {
        "cycle": cycle,
        "rows": rows,
        "history": cycle_history(cycle=cycle),
        "plan_changes": plan_changes_recent(cycle=cycle, user=request.user),
        "can_approve": user_can_approve(request.user, cycle),
        "can_decide_any": any(r.can_edit for r in rows),
        "decision_steps": [r.step for r in rows if r.can_edit],
        "steps_open": cycle_steps_open(cycle, steps=[r.step for r in rows]),
        "now": timezone.now(),
        "decision_draft": decision_draft or {},
        "decision_statuses": DecisionStatus.choices,
        "loose_decisions": cycle_decisions_without_step(cycle=cycle, user=request.user),
        "users": users_active() if any(r.can_edit for r in rows) else [],
        "month_close": cycle_month_close(cycle),
        "may_read_board_pack": user_may_read_board_pack(request.user),
        "board_packs": board_packs_of(cycle),
    }
    return render(request, "planning/cycle_detail.html", context, status=status)


def _done(request: HttpRequest, cycle: PlanningCycle, message: str, anchor: str = ""):
    """Say what happened and go back where the form came from (the cycle page)."""
    messages.success(request, message)
    default = reverse("cycle_detail", args=[cycle.label]) + anchor
    return HttpResponseRedirect(_next_url(request, default))


def _refused(
    request: HttpRequest, cycle: PlanningCycle, exc: ApplicationError, **kw
) -> HttpResponse:
    problem_messages(request, exc)
    return _cycle_page(request, cycle, status=exc.status, **kw)


# --- Cycles -----------------------------------------------------------------------------


@login_required
@require_GET
def cycle_list(request: HttpRequest) -> HttpResponse:
    cycles = list(cycles_overview())
    return render(
        request,
        "planning/cycle_list.html",
        {
            "cycles": cycles,
            "can_start": user_can_start_cycle(request.user),
            "next_month": cycle_next_month(),
        },
    )


@login_required
@require_POST
def cycle_start_view(request: HttpRequest) -> HttpResponse:
    text = (request.POST.get("month") or "").strip()
    month = parse_month(text) if text else cycle_next_month()
    back = _next_url(request, reverse("cycle_list"))
    if month is None:
        messages.error(request, f"month: {text!r} is not a month (YYYY-MM).")
        return HttpResponseRedirect(back)
    try:
        cycle, info = cycle_start(month=month, user=request.user)
    except ApplicationError as exc:
        problem_messages(request, exc)
        return render(
            request,
            "planning/cycle_list.html",
            {
                "cycles": list(cycles_overview()),
                "can_start": user_can_start_cycle(request.user),
                "next_month": cycle_next_month(),
            },
            status=exc.status,
        )
    if info.based_on:
        messages.success(
            request,
            f"Cycle {cycle.label} started from the approved plan of {info.based_on.label} "
            f"({info.copied + info.extended + info.opening_inventory:,} values rolled forward).",
        )
    else:
        messages.success(request, f"Cycle {cycle.label} started with an empty plan.")
    return HttpResponseRedirect(reverse("cycle_detail", args=[cycle.label]))


@login_required
def cycle_address_unknown(request: HttpRequest, label: str, rest: str = "") -> HttpResponse:
    """A cycle address whose month is not ``YYYY-MM`` (``/cycles/nonsense/grid/``): the
    friendly 404 names the problem and the cycles there are, as for an unknown month."""

    raise Http404(cycle_missing_message(label))


@login_required
@require_GET
def cycle_detail(request: HttpRequest, month: str) -> HttpResponse:
    return _cycle_page(request, cycle_or_404(month))


@login_required
@require_POST
def step_status_view(request: HttpRequest, month: str, number: int) -> HttpResponse:
    cycle = cycle_or_404(month)
    step = get_object_or_404(cycle.steps, number=number)
    try:
        step = step_status_set(step=step, status=request.POST.get("status", ""), user=request.user)
    except ApplicationError as exc:
        return _refused(request, cycle, exc)
    status = step.get_status_display().lower()
    return _done(request, cycle, f"Step {step.number} is now {status}.", f"#step-{number}")


@login_required
@require_POST
def step_minutes_view(request: HttpRequest, month: str, number: int) -> HttpResponse:
    cycle = cycle_or_404(month)
    step = get_object_or_404(cycle.steps, number=number)
    text = request.POST.get("minutes", "")
    base = request.POST.get("base")
    try:
        step_minutes_set(step=step, minutes=text, base=base, user=request.user)
    except ApplicationError as exc:
        draft = {number: text} if user_owns_step(request.user, step) else None
        return _refused(request, cycle, exc, minutes_draft=draft)
    return _done(request, cycle, f"Minutes of step {number} saved.", f"#step-{number}")


@login_required
@require_POST
def cycle_approve_view(request: HttpRequest, month: str) -> HttpResponse:
    """Approve after a confirmation that names what stays open.

    A POST without ``confirm`` changes nothing: it answers with the confirmation page
    (open overloads, shortages, unexplained demand changes, open decisions) whose form
    posts again with ``confirm=yes``, the note and the override reason.
    """
    cycle = cycle_or_404(month)
    if request.POST.get("confirm") != "yes" and user_can_approve(request.user, cycle):
        context = {
            "cycle": cycle,
            "open": approval_open_items(cycle=cycle),
            "steps_open": cycle_steps_open(cycle),
            "override_reason": request.POST.get("override_reason", ""),
            "note": request.POST.get("note", ""),
            "next": _next_url(request, reverse("cycle_detail", args=[cycle.label])),
        }
        return render(request, "planning/approve_confirm.html", context)
    try:
        cycle = cycle_approve(
            cycle=cycle,
            user=request.user,
            override_reason=request.POST.get("override_reason", ""),
            note=request.POST.get("note", ""),
        )
    except ApplicationError as exc:
        return _refused(request, cycle, exc)
    return _done(request, cycle, f"Plan {cycle.label} approved and frozen.")


@login_required
@require_POST
def exception_acknowledge_view(request: HttpRequest, month: str) -> HttpResponse:
    """Step 5: an executive acknowledges one exception with a note (back to the review)."""
    cycle = cycle_or_404(month)
    default = reverse("cycle_review", args=[cycle.label]) + "#exceptions"
    try:
        exception_acknowledge(
            cycle=cycle,
            user=request.user,
            key=request.POST.get("key", ""),
            note=request.POST.get("note", ""),
        )
    except ApplicationError as exc:
        problem_messages(request, exc)
        return HttpResponseRedirect(_next_url(request, default))
    messages.success(request, "Exception acknowledged; the note is kept with the cycle.")
    return HttpResponseRedirect(_next_url(request, default))


# --- Decisions --------------------------------------------------------------------------


@login_required
@require_POST
def decision_create_view(request: HttpRequest, month: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    post = request.POST
    draft = {k: post.get(k, "") for k in ("text", "owner", "due_date", "step")}
    try:
        step_text = (post.get("step") or "").strip()
        if step_text and not step_text.isdigit():
            raise ValidationFailed.of_field("step", f"{step_text!r} is not a step number (1–5).")
        decision = decision_create(
            cycle=cycle,
            user=request.user,
            text=post.get("text", ""),
            owner=user_resolve(post.get("owner")),
            due_date=_parse_date(post.get("due_date", ""), "due_date"),
            step_number=int(step_text) if step_text else None,
        )
    except ApplicationError as exc:
        return _refused(request, cycle, exc, decision_draft=draft)
    message = f"Decision recorded for {decision.owner} by {decision.due_date}."
    return _done(request, cycle, message, f"#decision-{decision.pk}")


@login_required
@require_POST
def decision_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("cycle"), pk=pk)
    post = request.POST
    fields: dict[str, object] = {}
    try:
        if "status" in post:
            fields["status"] = post["status"]
        if "text" in post:
            fields["text"] = post["text"]
        if "owner" in post:
            fields["owner"] = user_resolve(post["owner"])
        if "due_date" in post:
            fields["due_date"] = _parse_date(post["due_date"], "due_date")
        decision_update(decision=decision, user=request.user, **fields)
    except ApplicationError as exc:
        return _refused(request, decision.cycle, exc)
    return _done(request, decision.cycle, "Decision updated.", f"#decision-{decision.pk}")


@login_required
@require_GET
def decisions_log_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    owner = request.GET.get("owner", "")
    if status and status not in DecisionStatus.values:
        status = ""
    qs = decisions_log(status=status or None, owner=owner or None)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/cycle_decisions.html",
        {
            "page": page,
            "status": status,
            "owner": owner,
            "owners": decision_owners(),
            "statuses": DecisionStatus.choices,
            "today": timezone.localdate(),
        },
    )


# --- Notifications ----------------------------------------------------------------------


@login_required
@require_GET
def notifications_view(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    qs = notifications_for(user=request.user, unread_only=unread_only)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request, "planning/cycle_notifications.html", {"page": page, "unread_only": unread_only}
    )


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    ids = [int(x) for x in request.POST.getlist("id") if x.isdigit()]
    count = notifications_mark_read(user=request.user, ids=ids or None)
    messages.success(request, f"{count:,} notification(s) marked as read.")
    return HttpResponseRedirect(_next_url(request, reverse("notifications")))


@staff_member_required
@require_GET
def reminder_deliveries_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(deliveries_problematic(), 100).get_page(request.GET.get("page"))
    return render(request, "planning/cycle_deliveries.html", {"page": page})
