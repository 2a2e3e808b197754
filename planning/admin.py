from django.contrib import admin

from planning.models import (
    AuditEvent,
    Company,
    CycleStep,
    Decision,
    Holiday,
    Notification,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    ReminderDelivery,
    StepTemplate,
)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "utilization_warn", "demand_change_threshold"]
    search_fields = ["name"]
    inlines = [HolidayInline]


class CycleStepInline(admin.TabularInline):
    model = CycleStep
    extra = 0
    fields = ["number", "name", "owner_role", "input_deadline", "meeting_start", "status"]


@admin.register(PlanningCycle)
class PlanningCycleAdmin(admin.ModelAdmin):
    list_display = ["label", "horizon", "status", "approved_at", "approved_by"]
    list_filter = ["status"]
    search_fields = ["month"]
    date_hierarchy = "month"
    inlines = [CycleStepInline]


@admin.register(StepTemplate)
class StepTemplateAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "owner_role", "meeting_minutes"]
    search_fields = ["name"]


@admin.register(CycleStep)
class CycleStepAdmin(admin.ModelAdmin):
    list_display = ["cycle", "number", "name", "owner_role", "meeting_start", "status"]
    list_filter = ["status", "number", "owner_role"]
    search_fields = ["name", "agenda", "minutes"]
    list_select_related = ["cycle"]
    filter_horizontal = ["participants"]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["text", "cycle", "step", "owner", "due_date", "status"]
    list_filter = ["status", "cycle"]
    search_fields = ["text", "owner__username"]
    list_select_related = ["cycle", "step", "owner"]


@admin.register(PlanValue)
class PlanValueAdmin(admin.ModelAdmin):
    list_display = [*PlanValue.KEY_FIELDS, "value", "version", "updated_by"]
    list_filter = ["measure", "cycle", "value_stream"]
    search_fields = ["product_family__code", "value_stream__code", "comment"]
    list_select_related = ["cycle", "value_stream", "product_family", "updated_by"]
    readonly_fields = ["version", "updated_by", "updated_at"]


@admin.register(PlanValueChange)
class PlanValueChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "changed_by", "measure", "month", "old_value", "new_value"]
    list_filter = ["source", "measure"]
    search_fields = ["product_family__code", "value_stream__code", "changed_by__username"]
    list_select_related = ["changed_by", "product_family", "value_stream"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "action", "object_type", "field", "cycle"]
    list_filter = ["action", "object_type"]
    search_fields = ["note", "old", "new", "user__username"]
    list_select_related = ["user", "cycle"]


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
