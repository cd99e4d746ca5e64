"""REST API for contacts, companies, tags and custom field definitions.

Serializers validate the shape of the input; the services validate the content and
write. Reads go through the scoped selectors, so an id outside the user's scope is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, mixins, routers, serializers, viewsets
from rest_framework.response import Response

from svyaz.contacts import selectors, services
from svyaz.contacts.filters import CompanyApiFilter, ContactApiFilter
from svyaz.contacts.models import Company, Contact, LifecycleStatus, Source
from svyaz.core.access import ScopedObjectMixin, SettingsWriteOrReadOnly
from svyaz.core.api_output import PlannedOutputMixin
from svyaz.core.field_rules import (
    FieldRulesOrderingFilter,
    FieldRulesSerializerMixin,
    rules_for,
)
from svyaz.core.models import CustomField, CustomFieldType, Tag
from svyaz.core.services import record_soft_delete, tag_get_or_create
from svyaz.dataquality.create_check import duplicate_conflict

# --- shared pieces -------------------------------------------------------------------


class ChannelListField(serializers.ListField):
    """A list of phones or emails: plain strings, or objects with `number` / `email`."""

    def __init__(self, key: str, **kwargs):
        self.key = key
        super().__init__(child=serializers.JSONField(), required=False, **kwargs)

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        out = []
        for item in items:
            if isinstance(item, dict):
                item = item.get(self.key)
            if not isinstance(item, str):
                raise serializers.ValidationError(
                    f"Each item must be a string or an object with “{self.key}”."
                )
            out.append(item)
        return out


class AddressSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    region = serializers.CharField(required=False, allow_blank=True, max_length=128)
    city = serializers.CharField(required=False, allow_blank=True, max_length=128)
    street = serializers.CharField(required=False, allow_blank=True, max_length=255)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=16)


class SummarySerializer(serializers.Serializer):
    status = serializers.CharField()
    orders_count = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    average_check = serializers.DecimalField(max_digits=16, decimal_places=2)
    last_purchase_at = serializers.DateTimeField(allow_null=True)


_EMPTY_SUMMARY = {
    "status": LifecycleStatus.LEAD,
    "orders_count": 0,
    "revenue": "0.00",
    "average_check": "0.00",
    "last_purchase_at": None,
}


class _ClientOutput(FieldRulesSerializerMixin, PlannedOutputMixin, serializers.ModelSerializer):
    phones = serializers.SerializerMethodField()
    emails = serializers.SerializerMethodField()
    addresses = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    # A list page comes with `obj._related` (selectors.client_rows_related: plain dicts
    # from values() queries); a single record (detail, after a write) with its prefetches.

    def get_phones(self, obj) -> list[dict[str, Any]]:
        related = getattr(obj, "_related", None)
        if related is not None:
            return related["phones"]
        return [
            {"number": p.number, "kind": p.kind, "is_primary": p.is_primary}
            for p in obj.phones.all()
        ]

    def get_emails(self, obj) -> list[dict[str, Any]]:
        related = getattr(obj, "_related", None)
        if related is not None:
            return related["emails"]
        return [
            {"email": e.email, "kind": e.kind, "is_primary": e.is_primary} for e in obj.emails.all()
        ]

    def get_addresses(self, obj) -> list[dict[str, Any]]:
        related = getattr(obj, "_related", None)
        if related is not None:
            return related["addresses"]
        return [
            {
                "kind": a.kind,
                "country": a.country,
                "region": a.region,
                "city": a.city,
                "street": a.street,
                "postal_code": a.postal_code,
            }
            for a in obj.addresss.all()
        ]

    def get_tags(self, obj) -> list[str]:
        related = getattr(obj, "_related", None)
        if related is not None:
            return related["tags"]
        return [t.name for t in obj.tags.all()]

    def get_summary(self, obj) -> dict[str, Any]:
        summary = selectors.client_summary(obj)
        if summary is None:
            data = dict(_EMPTY_SUMMARY)
        else:
            # One SummarySerializer for the whole page: building its fields per row was
            # half of the API list's serializing time.
            serializer = self.__dict__.get("_summary_serializer")
            if serializer is None:
                serializer = self.__dict__["_summary_serializer"] = SummarySerializer()
            data = dict(serializer.to_representation(summary))
        if self._order_amount_hidden():  # sums of order amounts follow the amount's rule
            data.pop("revenue", None)
            data.pop("average_check", None)
        return data

    def _order_amount_hidden(self) -> bool:
        cached = self.__dict__.get("_order_amount_rule")
        if cached is None:
            cached = "amount" in rules_for(self._rules_user(), "orders")[0]
            self.__dict__["_order_amount_rule"] = cached
        return cached


class _ClientInput(serializers.Serializer):
    phones = ChannelListField("number")
    emails = ChannelListField("email")
    addresses = AddressSerializer(many=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    source = serializers.ChoiceField(choices=Source.choices, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False
    )
    custom = serializers.DictField(required=False)
    # On create: a likely duplicate answers 409 with the candidates unless this is true (or
    # ?force=1) — see dataquality/create_check.py.
    confirm_duplicate = serializers.BooleanField(required=False, write_only=True)


class ClientSearchFilter(filters.BaseFilterBackend):
    """?search= with the same matching as the pages: name words in any alphabet, phone in
    any format, email, INN."""

    def filter_queryset(self, request, queryset, view):
        q = request.query_params.get("search", "").strip()
        return view.search_func(queryset, q) if q else queryset


class _ClientViewSet(ScopedObjectMixin, viewsets.ModelViewSet):
    """A record by id through scoping.get_visible; writes check their grant first."""

    filter_backends = [DjangoFilterBackend, FieldRulesOrderingFilter, ClientSearchFilter]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def paginate_queryset(self, queryset):
        """A page of the list: the rows with their summary only, then their phones,
        e-mails, addresses, tags (and companies) as plain dicts in one values() query each
        (selectors.client_rows_related) instead of prefetched model instances."""
        if self.action != "list" or self.paginator is None:
            return super().paginate_queryset(queryset)
        queryset = queryset.prefetch_related(None).select_related(None).select_related("summary")
        page = super().paginate_queryset(queryset)
        if page is not None:
            selectors.client_rows_related(page, owner=self.basename)
        return page

    def get_serializer_class(self):
        return (
            self.input_class
            if self.action in ("create", "update", "partial_update")
            else self.output_class
        )

    def _output(self, obj, status=200):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            self.output_class(obj, context=self.get_serializer_context()).data, status=status
        )

    def create(self, request, *args, **kwargs):
        serializer = self.input_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        confirmed = data.pop("confirm_duplicate", False)
        conflict = duplicate_conflict(request, kind=self.basename, data=data, confirmed=confirmed)
        if conflict is not None:
            return conflict
        with transaction.atomic():
            obj = self.perform_service_create(data)
        return self._output(obj, status=201)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        serializer = self.input_class(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("confirm_duplicate", None)
        with transaction.atomic():
            obj = self.perform_service_update(obj, data)
        return self._output(obj)

    def destroy(self, request, *args, **kwargs):
        record_soft_delete(actor=request.user, obj=self.get_object())
        return Response(status=204)


def _company_for(user, pk):
    if pk is None:
        return None
    company = selectors.company_list(user=user).filter(pk=pk).first()
    if company is None:
        raise serializers.ValidationError({"company": ["Unknown company."]})
    return company


# --- contacts ------------------------------------------------------------------------


class ContactOutputSerializer(_ClientOutput):
    companies = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "full_name",
            "first_name",
            "middle_name",
            "last_name",
            "job_title",
            "birthday",
            "source",
            "description",
            "owner",
            "department",
            "phones",
            "emails",
            "addresses",
            "companies",
            "tags",
            "custom",
            "summary",
            "created_at",
            "updated_at",
        ]

    def get_companies(self, obj) -> list[dict[str, Any]]:
        related = getattr(obj, "_related", None)
        if related is not None:
            return related["companies"]
        return [
            {"id": m.company_id, "name": m.company.name, "role": m.role, "is_primary": m.is_primary}
            for m in obj.memberships.all()
        ]


class ContactInputSerializer(FieldRulesSerializerMixin, _ClientInput):
    field_rules_entity = "contacts"
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    middle_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    job_title = serializers.CharField(required=False, allow_blank=True, max_length=128)
    birthday = serializers.DateField(required=False, allow_null=True)
    company = serializers.IntegerField(
        required=False, allow_null=True, help_text="Link to this company id."
    )
    role = serializers.CharField(required=False, allow_blank=True, max_length=128)


class ContactViewSet(_ClientViewSet):
    input_class = ContactInputSerializer
    output_class = ContactOutputSerializer
    filterset_class = ContactApiFilter
    ordering_fields = ["full_name", "created_at", "updated_at"]
    ordering = ["full_name", "id"]
    search_func = staticmethod(selectors.contact_search)

    def get_queryset(self):
        return selectors.contact_list_rows(user=self.request.user).order_by("full_name", "id")

    def perform_service_create(self, data):
        company = _company_for(self.request.user, data.pop("company", None))
        data["addresses"] = [dict(a) for a in data.get("addresses", [])]
        return services.contact_create(actor=self.request.user, company=company, **data)

    def perform_service_update(self, contact, data):
        company = _company_for(self.request.user, data.pop("company", None))
        role = data.pop("role", "")
        if "addresses" in data:
            data["addresses"] = [dict(a) for a in data["addresses"]]
        contact = services.contact_update(actor=self.request.user, contact=contact, data=data)
        if company is not None:
            services.contact_link_company(
                actor=self.request.user, contact=contact, company=company, role=role
            )
        return contact


# --- companies -----------------------------------------------------------------------


class CompanyOutputSerializer(_ClientOutput):
    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "legal_name",
            "country",
            "inn",
            "kpp",
            "tax_id",
            "industry_code",
            "website",
            "source",
            "description",
            "owner",
            "department",
            "phones",
            "emails",
            "addresses",
            "tags",
            "custom",
            "summary",
            "created_at",
            "updated_at",
        ]


class CompanyInputSerializer(FieldRulesSerializerMixin, _ClientInput):
    field_rules_entity = "companies"
    name = serializers.CharField(max_length=255)
    legal_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    inn = serializers.CharField(required=False, allow_blank=True, max_length=12)
    kpp = serializers.CharField(required=False, allow_blank=True, max_length=9)
    tax_id = serializers.CharField(required=False, allow_blank=True, max_length=32)
    industry_code = serializers.CharField(required=False, allow_blank=True, max_length=16)
    website = serializers.URLField(required=False, allow_blank=True)


class CompanyViewSet(_ClientViewSet):
    input_class = CompanyInputSerializer
    output_class = CompanyOutputSerializer
    filterset_class = CompanyApiFilter
    ordering_fields = ["name", "inn", "created_at", "updated_at"]
    ordering = ["name", "id"]
    search_func = staticmethod(selectors.company_search)

    def get_queryset(self):
        return selectors.company_list_rows(user=self.request.user).order_by("name", "id")

    def perform_service_create(self, data):
        data["addresses"] = [dict(a) for a in data.get("addresses", [])]
        return services.company_create(actor=self.request.user, **data)

    def perform_service_update(self, company, data):
        if "addresses" in data:
            data["addresses"] = [dict(a) for a in data["addresses"]]
        return services.company_update(actor=self.request.user, company=company, data=data)


# --- tags and custom field definitions ------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]
        read_only_fields = ["color"]
        extra_kwargs = {"name": {"validators": []}}


class TagViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Tags are shared by every entity; creating an existing name returns it."""

    serializer_class = TagSerializer
    queryset = Tag.objects.all()
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = tag_get_or_create(name=serializer.validated_data["name"])
        return Response(TagSerializer(tag).data, status=201)


class CustomFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = [
            "id",
            "entity",
            "code",
            "label",
            "field_type",
            "choices",
            "required",
            "show_in_list",
            "position",
        ]

    def validate_choices(self, value):
        if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
            raise serializers.ValidationError("A list of non-empty strings.")
        return [c.strip() for c in value]

    def validate(self, attrs):
        field_type = attrs.get("field_type", getattr(self.instance, "field_type", None))
        choices = attrs.get("choices", getattr(self.instance, "choices", []))
        if field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE) and not choices:
            raise serializers.ValidationError(
                {"choices": ["A choice field needs at least one choice."]}
            )
        return attrs


class CustomFieldViewSet(viewsets.ModelViewSet):
    """Custom field definitions: everyone reads, settings/edit writes."""

    serializer_class = CustomFieldSerializer
    queryset = CustomField.objects.all()
    permission_classes = [SettingsWriteOrReadOnly]
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["entity", "field_type", "show_in_list"]
    search_fields = ["code", "label"]
    ordering_fields = ["entity", "position", "code"]
    ordering = ["entity", "position", "id"]


router = routers.SimpleRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("companies", CompanyViewSet, basename="company")
router.register("tags", TagViewSet, basename="tag")
router.register("custom-fields", CustomFieldViewSet, basename="customfield")

urlpatterns = router.urls
