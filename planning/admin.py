"""The Django admin: frozen means frozen here too.

A frozen cycle and everything in it is read-only; history (``PlanValueChange``,
``AuditEvent``) is never changed or deleted; no bulk actions on cycle data; a cycle's
status changes only through the services (start, approve); an admin's change of an open
cycle's value goes through ``plan_values_upsert`` like every other write.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from planning.models import (
    Actual,
    ActualChange,
    Assumption,
    AuditEvent,
    BaselineFit,
    BaselineRun,
    BoardPack,
    Company,
    CycleFamily,
    CycleStep,
    CycleValueStream,
    Decision,
    Holiday,
    Launch,
    Notification,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    ReminderDelivery,
    StepTemplate,
)
from planning.services.launches import launch_update
from planning.services.plan_values import (
    CellInput,
    plan_value_comment_set,
    plan_values_upsert,
)
from sofp.errors import ApplicationError


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "utilization_warn", "demand_change_threshold"]
    search_fields = ["name"]
    inlines = [HolidayInline]


class FrozenReadOnly:
    """Admin pages of things that belong to a cycle: read-only once it is frozen, never
    deleted here, and no bulk actions (every write goes through the services)."""

    actions = None

    @staticmethod
    def _cycle_of(obj) -> PlanningCycle | None:
        # Inlines are asked about their parent: the cycle itself.
        return obj if isinstance(obj, PlanningCycle) else getattr(obj, "cycle", None)

    def has_change_permission(self, request, obj=None) -> bool:
        cycle = self._cycle_of(obj) if obj is not None else None
        if cycle is not None and cycle.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class HistoryReadOnly:
    """History is kept forever: no add, change, delete or bulk action, on any path."""

    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CycleStepInline(FrozenReadOnly, admin.TabularInline):
    model = CycleStep
    extra = 0
    fields = ["number", "name", "owner_role", "input_deadline", "meeting_start", "status"]
    readonly_fields = ["number", "owner_role", "status"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PlanningCycle)
class PlanningCycleAdmin(FrozenReadOnly, admin.ModelAdmin):
    """Cycles start on the cycles page or with ``start_cycle`` and are approved in step 5:
    the status never changes here, a frozen cycle not at all, and no cycle is deleted
    (its history goes with it)."""

    list_display = ["label", "horizon", "status", "approved_at", "approved_by"]
    list_filter = ["status"]
    search_fields = ["month"]
    date_hierarchy = "month"
    inlines = [CycleStepInline]
    readonly_fields = [
        "month",
        "horizon",
        "status",
        "based_on",
        "approved_at",
        "approved_by",
        "approval_override_reason",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(StepTemplate)
class StepTemplateAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "owner_role", "meeting_minutes"]
    search_fields = ["name"]


@admin.register(CycleStep)
class CycleStepAdmin(FrozenReadOnly, admin.ModelAdmin):
    """Schedules and agendas of open cycles; status and minutes change on the cycle page
    (``step_status_set``, ``step_minutes_set``: owners, order, audit)."""

    list_display = ["cycle", "number", "name", "owner_role", "meeting_start", "status"]
    list_filter = ["status", "number", "owner_role"]
    search_fields = ["name", "agenda", "minutes"]
    list_select_related = ["cycle"]
    filter_horizontal = ["participants"]
    readonly_fields = ["cycle", "number", "owner_role", "status", "minutes", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(HistoryReadOnly, admin.ModelAdmin):
    """Decisions are recorded and updated on the cycle page (rights, audit); here they
    are only looked up."""

    list_display = ["text", "cycle", "step", "owner", "due_date", "status"]
    list_filter = ["status", "cycle"]
    search_fields = ["text", "owner__username"]
    list_select_related = ["cycle", "step", "owner"]


class ServiceCheckedForm(forms.ModelForm):
    """A change form checked by the service that will write it (:meth:`check_change`,
    nothing kept), so the service's problems show on the form."""

    request = None

    def check_change(self, data: dict) -> None:
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors or self.instance.pk is None:
            return data
        try:
            self.check_change(data)
        except ApplicationError as exc:
            raise forms.ValidationError([p.text for p in exc.problems] or [str(exc)]) from None
        return data


class ServiceWriteAdmin:
    """Rows that change only through a service (rights, frozen guard, version, history):
    none are added here, the form (a :class:`ServiceCheckedForm`) knows the request, and
    a change is saved by :meth:`service_write`; what the service refuses is a message."""

    def has_add_permission(self, request) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def service_write(self, obj, data: dict, *, user) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change) -> None:
        try:
            self.service_write(obj, form.cleaned_data, user=request.user)
        except ApplicationError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)


class PlanValueAdminForm(ServiceCheckedForm):
    """Checks the change through the one write path (dry run) so problems show on the
    form; ``PlanValueAdmin.save_model`` then writes it through the same path."""

    class Meta:
        model = PlanValue
        fields = ["value", "comment"]

    def check_change(self, data: dict) -> None:
        _plan_value_write(self.instance, data, user=self.request.user, dry_run=True)


def _plan_value_write(cell: PlanValue, data: dict, *, user, dry_run: bool = False) -> None:
    """An admin's change of one cell: the value through ``plan_values_upsert`` (rights,
    frozen guard, version, history with source "admin"), the comment through
    ``plan_value_comment_set``."""
    stored = PlanValue.objects.select_related("value_stream", "product_family").get(pk=cell.pk)
    value = data.get("value")
    if value is not None and value != stored.value:
        plan_values_upsert(
            cycle=stored.cycle,
            cells=[
                CellInput(
                    stored.value_stream.code if stored.value_stream else "",
                    stored.product_family.code if stored.product_family else "",
                    stored.month,
                    stored.measure,
                    value,
                    version=stored.version,
                )
            ],
            user=user,
            source=PlanValueChange.Source.ADMIN,
            check_versions=True,
            dry_run=dry_run,
        )
    comment = data.get("comment", stored.comment)
    if not dry_run and comment != stored.comment:
        stored.refresh_from_db()
        plan_value_comment_set(
            plan_value=stored, text=comment, user=user, source=PlanValueChange.Source.ADMIN
        )


@admin.register(PlanValue)
class PlanValueAdmin(FrozenReadOnly, ServiceWriteAdmin, admin.ModelAdmin):
    """Open cycles' cells change through the services (history, versions, rights);
    new cells and clearing are the grid's, files' and API's business."""

    form = PlanValueAdminForm
    list_display = [*PlanValue.KEY_FIELDS, "value", "version", "updated_by"]
    list_filter = ["measure", "cycle", "value_stream"]
    search_fields = ["product_family__code", "value_stream__code", "comment"]
    list_select_related = ["cycle", "value_stream", "product_family", "updated_by"]
    readonly_fields = [*PlanValue.KEY_FIELDS, "version", "updated_by", "updated_at"]

    def service_write(self, obj, data: dict, *, user) -> None:
        _plan_value_write(obj, data, user=user)


@admin.register(PlanValueChange)
class PlanValueChangeAdmin(HistoryReadOnly, admin.ModelAdmin):
    list_display = ["changed_at", "changed_by", "measure", "month", "old_value", "new_value"]
    list_filter = ["source", "measure"]
    search_fields = ["product_family__code", "value_stream__code", "changed_by__username"]
    list_select_related = ["changed_by", "product_family", "value_stream"]


@admin.register(AuditEvent)
class AuditEventAdmin(HistoryReadOnly, admin.ModelAdmin):
    list_display = ["at", "user", "action", "object_type", "field", "cycle"]
    list_filter = ["action", "object_type"]
    search_fields = ["note", "old", "new", "user__username"]
    list_select_related = ["user", "cycle"]


@admin.register(CycleFamily)
class CycleFamilyAdmin(HistoryReadOnly, admin.ModelAdmin):
    """A cycle's master copy: follows the master while the cycle is open (change the
    product family), frozen with the cycle; finance changes prices on the cycle."""

    list_display = [
        "cycle",
        "product_family",
        "value_stream",
        "unit_price",
        "unit_material_cost",
        "hours_per_unit",
        "active",
    ]
    list_filter = ["cycle", "value_stream", "active"]
    search_fields = ["product_family__code"]
    list_select_related = ["cycle", "product_family", "value_stream"]


@admin.register(CycleValueStream)
class CycleValueStreamAdmin(HistoryReadOnly, admin.ModelAdmin):
    list_display = ["cycle", "value_stream", "active", "headcount"]
    list_filter = ["cycle", "active"]
    list_select_related = ["cycle", "value_stream"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__username"]
    list_select_related = ["user"]


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "recipient", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "recipient__username", "last_error"]
    list_select_related = ["recipient"]
    actions = ["retry_failed"]

    @admin.action(description="Send the selected failed reminders again")
    def retry_failed(self, request, queryset):
        from planning.services.reminders import deliveries_retry

        count = deliveries_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} reminder(s) will be sent by the next run.")


class _ReadOnlyAdmin(HistoryReadOnly, admin.ModelAdmin):
    """Rows written only by their services (actuals through ``actuals_upsert`` with rights,
    versions and history; the statistical baseline): the admin shows, never changes."""


@admin.register(Actual)
class ActualAdmin(_ReadOnlyAdmin):
    list_display = ["month", "value_stream", "product_family", "measure", "value", "version"]
    list_filter = ["measure", "value_stream"]
    search_fields = ["product_family__code", "value_stream__code"]
    list_select_related = ["value_stream", "product_family"]


@admin.register(ActualChange)
class ActualChangeAdmin(_ReadOnlyAdmin):
    list_display = ["changed_at", "changed_by", "measure", "month", "old_value", "new_value"]
    list_filter = ["source", "measure"]
    list_select_related = ["changed_by"]


@admin.register(BaselineRun)
class BaselineRunAdmin(_ReadOnlyAdmin):
    list_display = ["cycle", "status", "families_done", "families_total", "created_at"]
    list_filter = ["status"]


@admin.register(BaselineFit)
class BaselineFitAdmin(_ReadOnlyAdmin):
    list_display = ["cycle", "product_family", "method", "model", "holdout_wape", "reason"]
    list_filter = ["method", "cycle"]


@admin.register(Assumption)
class AssumptionAdmin(HistoryReadOnly, admin.ModelAdmin):
    """Assumptions change on the register page, in the grid and through the API (rights,
    versions, history, the freeze); here they are only looked up."""

    list_display = ["cycle", "value_stream", "product_family", "measure", "first_month"]
    list_display += ["last_month", "status", "owner", "version"]
    list_filter = ["status", "measure", "cycle"]
    search_fields = ["text", "value_stream__code", "product_family__code"]
    list_select_related = ["cycle", "value_stream", "product_family", "owner"]


class _DryRun(Exception):
    """Rolls a checked change back (the admin form's validation)."""


ADMIN_LAUNCH_FIELDS = ["planned_month", "status", "actual_month", "note"]


class LaunchAdminForm(ServiceCheckedForm):
    """Checks the change through ``launch_update`` (rolled back) so its problems show on
    the form; ``LaunchAdmin.save_model`` then writes it through the same service."""

    class Meta:
        model = Launch
        fields = ADMIN_LAUNCH_FIELDS

    def check_change(self, data: dict) -> None:
        try:
            with transaction.atomic():
                _launch_write(self.instance, data, user=self.request.user)
                raise _DryRun
        except _DryRun:
            pass


def _launch_write(launch: Launch, data: dict, *, user) -> None:
    stored = Launch.objects.get(pk=launch.pk)
    changes = {f: data.get(f) for f in ADMIN_LAUNCH_FIELDS if data.get(f) != getattr(stored, f)}
    if changes:
        launch_update(launch=stored, user=user, changes=changes, version=stored.version)


@admin.register(Launch)
class LaunchAdmin(FrozenReadOnly, ServiceWriteAdmin, admin.ModelAdmin):
    """Launches are created on the register page or the API (with their new family);
    here an open cycle's launch changes through ``launch_update`` (rights, version,
    history), a frozen cycle's not at all."""

    form = LaunchAdminForm
    list_display = [
        "cycle",
        "product_family",
        "npd_stream",
        "receiving_stream",
        "status",
        "planned_month",
        "committed_month",
        "actual_month",
        "version",
    ]
    list_filter = ["status", "cycle", "npd_stream"]
    search_fields = ["product_family__code", "note"]
    list_select_related = ["cycle", "product_family", "npd_stream", "receiving_stream"]
    readonly_fields = [
        "cycle",
        "product_family",
        "npd_stream",
        "receiving_stream",
        "committed_month",
        "ramp",
        "development_hours",
        "version",
        "updated_by",
        "updated_at",
    ]

    def service_write(self, obj, data: dict, *, user) -> None:
        _launch_write(obj, data, user=user)


@admin.register(BoardPack)
class BoardPackAdmin(HistoryReadOnly, admin.ModelAdmin):
    """Archived board packs are evidence of what the board saw: looked up, never added,
    changed or deleted here (the model refuses too)."""

    list_display = ["cycle", "kind", "created_at", "pages", "size", "sha256"]
    list_filter = ["kind"]
    list_select_related = ["cycle"]
    exclude = ["pdf"]
    readonly_fields = [
        "cycle",
        "kind",
        "sha256",
        "size",
        "pages",
        "cycle_status",
        "created_at",
        "created_by",
    ]
