from django.contrib import admin

from svyaz.sales.models import (
    Deal,
    DealLine,
    DealStageChange,
    Lead,
    LostReason,
    Order,
    OrderLine,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
)


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_default"]
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "price", "currency", "is_active"]
    search_fields = ["name", "sku"]
    list_filter = ["is_active", "currency"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
    autocomplete_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "is_default"]
    inlines = [PriceListItemInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "source", "channel", "owner", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "email", "phone", "company_name"]
    raw_id_fields = ["contact", "company", "deal", "owner"]
    readonly_fields = ["status", "converted_at"]


class DealLineInline(admin.TabularInline):
    model = DealLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Read-mostly: the stage is changed on the board or the card (deal_stage_change)."""

    list_display = ["title", "pipeline", "stage", "amount", "currency", "owner", "created_at"]
    list_filter = ["pipeline", "stage"]
    search_fields = ["title"]
    raw_id_fields = ["contact", "company", "owner"]
    readonly_fields = ["pipeline", "stage", "stage_changed_at", "closed_at", "lost_reason"]
    inlines = [DealLineInline]


@admin.register(DealStageChange)
class DealStageChangeAdmin(admin.ModelAdmin):
    list_display = ["deal", "from_stage", "to_stage", "changed_at", "changed_by", "seconds_in_from"]
    raw_id_fields = ["deal"]

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["__str__", "ordered_at", "amount", "currency", "status", "contact", "company"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "external_id"]
    raw_id_fields = ["contact", "company", "deal", "owner"]
    inlines = [OrderLineInline]
