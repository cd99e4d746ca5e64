"""REST API of the sales app, mounted under /api/v1/.

Serializers check the shape of the input, the services (the same ones the pages call)
check the content and write; reads come from the scoped selectors, so a record outside
the user's scope is a 404. A deal's stage changes only through POST /deals/{id}/move/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from svyaz.contacts.models import Source
from svyaz.core.access import ScopedObjectMixin, SettingsWriteOrReadOnly
from svyaz.core.field_rules import FieldRulesSerializerMixin
from svyaz.core.services import record_soft_delete, require_on
from svyaz.sales import selectors, services
from svyaz.sales.filters import DealFilter, LeadFilter, OrderFilter, ProductFilter
from svyaz.sales.models import (
    Channel,
    Deal,
    DealLine,
    Lead,
    LostReason,
    Order,
    OrderStatus,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
)


def _users():
    return get_user_model().objects.filter(is_active=True)


@extend_schema_field(OpenApiTypes.INT)
class ScopedPK(serializers.PrimaryKeyRelatedField):
    """A related id that must be visible to the requesting user (else "does not exist")."""

    def __init__(self, selector, **kwargs):
        self.selector = selector
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(user=self.context["request"].user)


def _currency():
    return serializers.ChoiceField(
        choices=[(c, c) for c in settings.SVYAZ_CURRENCIES], required=False
    )


class _ServiceViewSet(ScopedObjectMixin, viewsets.ModelViewSet):
    """create/update validate with `input_class`, then call the service; output with
    `output_class` re-read through the scoped queryset. A record by id comes through
    scoping.get_visible; writes check their grant first (core.access.ScopedObjectMixin)."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    filter_backends = [*viewsets.ModelViewSet.filter_backends]

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return self.input_class
        return self.output_class

    def _output(self, obj, status=200):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            self.output_class(obj, context=self.get_serializer_context()).data, status=status
        )

    def create(self, request, *args, **kwargs):
        s = self.input_class(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        return self._output(self.service_create(dict(s.validated_data)), status=201)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        s = self.input_class(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        s.is_valid(raise_exception=True)
        return self._output(self.service_update(obj, dict(s.validated_data)))

    def destroy(self, request, *args, **kwargs):
        record_soft_delete(actor=request.user, obj=self.get_object())
        return Response(status=204)


# --- leads -----------------------------------------------------------------------------


class LeadOutputSerializer(FieldRulesSerializerMixin, serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Lead
        fields = [
            "id",
            "title",
            "first_name",
            "last_name",
            "company_name",
            "company_inn",
            "phone",
            "email",
            "source",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "status",
            "description",
            "owner",
            "department",
            "contact",
            "company",
            "deal",
            "converted_at",
            "tags",
            "custom",
            "created_at",
            "updated_at",
        ]


class LeadInputSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "leads"

    title = serializers.CharField(max_length=255)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    company_inn = serializers.CharField(max_length=12, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=128, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=128, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=128, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=[("new", "new"), ("in_progress", "in_progress"), ("disqualified", "disqualified")],
        required=False,
    )
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=_users(), required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    custom = serializers.DictField(required=False)


class LeadConvertSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "deals"  # the amount is the new deal's

    create_deal = serializers.BooleanField(default=True)
    deal_title = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    currency = _currency()


class LeadViewSet(_ServiceViewSet):
    input_class = LeadInputSerializer
    output_class = LeadOutputSerializer
    filterset_class = LeadFilter
    search_fields = ["title", "first_name", "last_name", "company_name", "email", "phone"]
    ordering_fields = ["created_at", "title", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.lead_list(user=self.request.user).prefetch_related("tags")

    def service_create(self, data):
        return services.lead_create(actor=self.request.user, title=data.pop("title"), **data)

    def service_update(self, lead, data):
        return services.lead_update(actor=self.request.user, lead=lead, data=data)

    @action(detail=True, methods=["post"], serializer_class=LeadConvertSerializer)
    def convert(self, request, pk=None):
        lead = self.get_object()
        s = LeadConvertSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        contact, company, deal = services.lead_convert(
            actor=request.user, lead=lead, **s.validated_data
        )
        return Response(
            {
                "lead": lead.pk,
                "contact": getattr(contact, "pk", None),
                "company": getattr(company, "pk", None),
                "deal": getattr(deal, "pk", None),
            },
            status=201,
        )


# --- pipelines -------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "position", "kind", "probability"]


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_default", "stages"]


class PipelineViewSet(viewsets.ModelViewSet):
    """Sales configuration (not owned records): staff edit it directly; deals stay
    consistent because stages with deals cannot be deleted (PROTECT → 400)."""

    serializer_class = PipelineSerializer
    permission_classes = [SettingsWriteOrReadOnly]
    queryset = Pipeline.objects.prefetch_related("stages")
    ordering_fields = ["position", "name"]
    search_fields = ["name"]
    filterset_fields = ["is_default"]


class StageViewSet(viewsets.ModelViewSet):
    serializer_class = StageSerializer
    permission_classes = [SettingsWriteOrReadOnly]
    queryset = Stage.objects.all()
    ordering_fields = ["position", "name"]
    search_fields = ["name"]
    filterset_fields = ["pipeline", "kind"]


class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["id", "name", "position"]


class LostReasonViewSet(viewsets.ModelViewSet):
    serializer_class = LostReasonSerializer
    permission_classes = [SettingsWriteOrReadOnly]
    queryset = LostReason.objects.all()
    ordering_fields = ["position", "name"]
    search_fields = ["name"]
    filterset_fields = ["name"]


# --- deals -----------------------------------------------------------------------------


class DealLineSerializer(FieldRulesSerializerMixin, serializers.ModelSerializer):
    # A line's money makes up the deal's amount: it follows the amount's rule.
    field_rules_entity = "deals"
    field_rule_sources = {"price": "amount", "discount_percent": "amount", "total": "amount"}

    total = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = DealLine
        fields = ["id", "deal", "product", "name", "quantity", "price", "discount_percent", "total"]
        read_only_fields = ["deal"]


class DealOutputSerializer(FieldRulesSerializerMixin, serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    lines = DealLineSerializer(many=True, read_only=True)
    stage_kind = serializers.CharField(source="stage.kind", read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "pipeline",
            "stage",
            "stage_kind",
            "amount",
            "currency",
            "expected_close",
            "probability",
            "contact",
            "company",
            "owner",
            "department",
            "price_list",
            "lost_reason",
            "lost_comment",
            "stage_changed_at",
            "closed_at",
            "is_repeat",
            "tags",
            "lines",
            "custom",
            "created_at",
            "updated_at",
        ]


class DealInputSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "deals"

    title = serializers.CharField(max_length=255)
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all())
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False)
    currency = _currency()
    expected_close = serializers.DateField(required=False, allow_null=True)
    probability = serializers.IntegerField(
        min_value=0, max_value=100, required=False, allow_null=True
    )
    contact = ScopedPK(selectors.contacts_for)
    company = ScopedPK(selectors.companies_for)
    owner = serializers.PrimaryKeyRelatedField(queryset=_users(), required=False)
    price_list = serializers.PrimaryKeyRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True
    )
    lost_comment = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    custom = serializers.DictField(required=False)

    def validate(self, attrs):
        if self.partial and ("stage" in self.initial_data or "pipeline" in self.initial_data):
            key = "stage" if "stage" in self.initial_data else "pipeline"
            raise serializers.ValidationError(
                {key: [_("The stage changes only through POST /api/v1/deals/{id}/move/.")]}
            )
        return attrs


class DealMoveSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "deals"

    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    lost_reason = serializers.PrimaryKeyRelatedField(
        queryset=LostReason.objects.all(), required=False, allow_null=True
    )
    lost_comment = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class DealViewSet(_ServiceViewSet):
    input_class = DealInputSerializer
    output_class = DealOutputSerializer
    filterset_class = DealFilter
    search_fields = ["title", "contact__full_name", "company__name"]
    ordering_fields = ["created_at", "amount", "expected_close", "stage_changed_at", "title"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.deal_list(user=self.request.user).prefetch_related("tags", "lines")

    def service_create(self, data):
        data.pop("lost_comment", None)
        return services.deal_create(actor=self.request.user, **data)

    def service_update(self, deal, data):
        if self.request.method != "PATCH":
            # PUT sends the whole record; the pipeline and stage must stay what they are.
            for key in ("pipeline", "stage"):
                value = data.pop(key, None)
                if value is not None and value.pk != getattr(deal, f"{key}_id"):
                    raise serializers.ValidationError(
                        {key: [_("The stage changes only through POST /api/v1/deals/{id}/move/.")]}
                    )
        return services.deal_update(actor=self.request.user, deal=deal, data=data)

    def destroy(self, request, *args, **kwargs):
        services.deal_delete(actor=request.user, deal=self.get_object())
        return Response(status=204)

    @action(detail=True, methods=["post"], serializer_class=DealMoveSerializer)
    def move(self, request, pk=None):
        deal = self.get_object()
        s = DealMoveSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        services.deal_stage_change(actor=request.user, deal=deal, **s.validated_data)
        return self._output(deal)


class DealLineInputSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "deals"
    field_rule_sources = DealLineSerializer.field_rule_sources

    deal = ScopedPK(selectors.deal_list, required=True, allow_null=False)
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False)
    price = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, allow_null=True
    )
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)


class DealLineViewSet(_ServiceViewSet):
    """Line items of deals the user can see; ?deal=<id> lists one deal's lines."""

    input_class = DealLineInputSerializer
    output_class = DealLineSerializer
    filterset_fields = ["deal", "product"]
    ordering_fields = ["id"]
    ordering = ["id"]
    search_fields = ["name"]

    def get_queryset(self):
        return DealLine.objects.filter(
            deal__in=selectors.deal_list(user=self.request.user).values("pk")
        )

    def access_entity(self) -> str:
        return "deals"  # a line is part of its deal: writing it is editing the deal

    def get_object(self):
        line = viewsets.ModelViewSet.get_object(self)  # a line of a visible deal, else 404
        if self.action in self.object_write_actions:
            require_on(self.request.user, "edit", line.deal)
        return line

    def service_create(self, data):
        return services.deal_line_add(actor=self.request.user, **data)

    def service_update(self, line, data):
        data.pop("deal", None)
        return services.deal_line_update(actor=self.request.user, line=line, data=data)

    def destroy(self, request, *args, **kwargs):
        services.deal_line_remove(actor=request.user, line=self.get_object())
        return Response(status=204)


# --- products and price lists ----------------------------------------------------------


class ProductSerializer(FieldRulesSerializerMixin, serializers.ModelSerializer):
    currency = _currency()

    class Meta:
        model = Product
        fields = ["id", "name", "sku", "unit", "price", "currency", "is_active", "description"]


class ProductViewSet(viewsets.ModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "sku"]
    ordering_fields = ["name", "price", "sku"]
    ordering = ["name", "id"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.product_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.product_save(
            actor=self.request.user, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer):
        serializer.instance = services.product_save(
            actor=self.request.user,
            product=serializer.instance,
            data=dict(serializer.validated_data),
        )


class PriceListItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceListItem
        fields = ["id", "price_list", "product", "price"]


class PriceListSerializer(serializers.ModelSerializer):
    items = PriceListItemSerializer(many=True, read_only=True)
    currency = _currency()

    class Meta:
        model = PriceList
        fields = ["id", "name", "currency", "is_default", "items"]


class PriceListViewSet(viewsets.ModelViewSet):
    serializer_class = PriceListSerializer
    permission_classes = [SettingsWriteOrReadOnly]
    queryset = PriceList.objects.prefetch_related("items")
    search_fields = ["name"]
    ordering_fields = ["name"]
    filterset_fields = ["is_default", "currency"]


class PriceListItemViewSet(viewsets.ModelViewSet):
    serializer_class = PriceListItemSerializer
    permission_classes = [SettingsWriteOrReadOnly]
    queryset = PriceListItem.objects.all()
    search_fields = ["product__name"]
    ordering_fields = ["price", "id"]
    filterset_fields = ["price_list", "product"]


# --- orders ----------------------------------------------------------------------------


class OrderLineSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    # A line's money makes up the order's amount: it follows the amount's rule.
    field_rules_entity = "orders"
    field_rule_sources = {"price": "amount", "total": "amount"}

    id = serializers.IntegerField(read_only=True)
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False)
    price = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, allow_null=True
    )
    total = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)


class OrderOutputSerializer(FieldRulesSerializerMixin, serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "contact",
            "company",
            "deal",
            "ordered_at",
            "amount",
            "currency",
            "status",
            "external_id",
            "owner",
            "department",
            "lines",
            "custom",
            "created_at",
            "updated_at",
        ]


class OrderInputSerializer(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "orders"

    contact = ScopedPK(selectors.contacts_for)
    company = ScopedPK(selectors.companies_for)
    deal = ScopedPK(selectors.deal_list)
    ordered_at = serializers.DateTimeField(required=False)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False)
    currency = _currency()
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=_users(), required=False)
    lines = OrderLineSerializer(many=True, required=False)
    custom = serializers.DictField(required=False)


class OrderViewSet(_ServiceViewSet):
    input_class = OrderInputSerializer
    output_class = OrderOutputSerializer
    filterset_class = OrderFilter
    search_fields = ["number", "external_id", "contact__full_name", "company__name"]
    ordering_fields = ["ordered_at", "amount", "number"]
    ordering = ["-ordered_at", "-id"]

    def get_queryset(self):
        return selectors.order_list(user=self.request.user).prefetch_related(Prefetch("lines"))

    def service_create(self, data):
        data["lines"] = [dict(x) for x in data.get("lines", [])]
        return services.order_create(actor=self.request.user, **data)

    def service_update(self, order, data: dict[str, Any]):
        if "lines" in data:
            raise serializers.ValidationError(
                {"lines": [_("Lines are set when the order is created.")]}
            )
        if "deal" in data:
            raise serializers.ValidationError(
                {"deal": [_("The deal of an order does not change.")]}
            )
        return services.order_update(actor=self.request.user, order=order, data=data)

    def destroy(self, request, *args, **kwargs):
        services.order_delete(actor=request.user, order=self.get_object())
        return Response(status=204)

    @action(detail=True, methods=["post"], serializer_class=serializers.Serializer)
    def cancel(self, request, pk=None):
        order = services.order_cancel(actor=request.user, order=self.get_object())
        return self._output(order)


router = routers.SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("stages", StageViewSet, basename="stage")
router.register("lost-reasons", LostReasonViewSet, basename="lostreason")
router.register("deals", DealViewSet, basename="deal")
router.register("deal-lines", DealLineViewSet, basename="dealline")
router.register("products", ProductViewSet, basename="product")
router.register("price-lists", PriceListViewSet, basename="pricelist")
router.register("price-list-items", PriceListItemViewSet, basename="pricelistitem")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
