from django.contrib import admin

from valuestreams.models import FAMILY_FIELDS, Membership, ProductFamily, ValueStream


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
    list_display = list(FAMILY_FIELDS)
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
