from django.contrib import admin

from valuestreams.models import Membership, ProductFamily, ValueStream


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(ValueStream)
class ValueStreamAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "headcount", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["serves"]
    inlines = [MembershipInline]


@admin.register(ProductFamily)
class ProductFamilyAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "value_stream",
        "unit_price",
        "unit_material_cost",
        "hours_per_unit",
        "dos_min",
        "dos_max",
        "active",
    ]
    list_filter = ["value_stream", "active"]
    search_fields = ["code", "name", "value_stream__code"]
    list_select_related = ["value_stream"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "value_stream", "role"]
    list_filter = ["role", "value_stream"]
    search_fields = ["user__username", "value_stream__code"]
    list_select_related = ["user", "value_stream"]
    autocomplete_fields = ["user", "value_stream"]
