"""REST API for activities, over the same selectors and services as the pages.

POST goes through `activity_log` (a `callback_at` creates the callback task); DELETE moves
the activity to the recycle bin; an id outside the user's scope is 404."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, routers, serializers, viewsets
from rest_framework.response import Response

from svyaz.activities import selectors, services
from svyaz.activities.filters import ActivityFilter
from svyaz.activities.models import Activity, ActivityKind, CallOutcome, Direction
from svyaz.activities.subjects import subjects_resolve
from svyaz.core.access import ScopedObjectMixin
from svyaz.core.field_rules import FieldRulesOrderingFilter, FieldRulesSerializerMixin
from svyaz.core.services import record_soft_delete


class ActivityOutput(FieldRulesSerializerMixin, serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()
    followups = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "direction",
            "channel",
            "subject",
            "body",
            "occurred_at",
            "duration_seconds",
            "outcome",
            "contact",
            "company",
            "deal",
            "owner",
            "owner_name",
            "department",
            "followups",
            "created_at",
            "updated_at",
        ]

    def get_owner_name(self, obj) -> str:
        return str(obj.owner) if obj.owner_id else ""

    def get_followups(self, obj) -> list[int]:
        """Ids of the callbacks this activity created."""
        return [f.pk for f in obj.followups.all()]


class ActivityCreateInput(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "activities"

    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)
    duration_seconds = serializers.IntegerField(required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices, required=False, allow_blank=True)
    contact = serializers.IntegerField(required=False, allow_null=True)
    company = serializers.IntegerField(required=False, allow_null=True)
    deal = serializers.IntegerField(required=False, allow_null=True)
    callback_at = serializers.DateTimeField(required=False, allow_null=True)
    callback_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ActivityUpdateInput(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "activities"

    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)
    duration_seconds = serializers.IntegerField(required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices, required=False, allow_blank=True)


class SearchBackend(filters.BaseFilterBackend):
    """?search= over subject, text and the client's name (the list page's search)."""

    def filter_queryset(self, request, queryset, view):
        q = request.query_params.get("search", "").strip()
        return selectors.activity_search(queryset, q) if q else queryset


@extend_schema_view(
    create=extend_schema(request=ActivityCreateInput, responses={201: ActivityOutput}),
    update=extend_schema(request=ActivityUpdateInput, responses=ActivityOutput),
    partial_update=extend_schema(request=ActivityUpdateInput, responses=ActivityOutput),
)
class ActivityViewSet(ScopedObjectMixin, viewsets.ModelViewSet):
    filter_backends = [DjangoFilterBackend, FieldRulesOrderingFilter, SearchBackend]
    filterset_class = ActivityFilter
    ordering_fields = ["occurred_at", "created_at", "duration_seconds", "kind"]
    ordering = ["-occurred_at", "-id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.activity_list_rows(user=self.request.user).prefetch_related("followups")

    def get_serializer_class(self):
        if self.action == "create":
            return ActivityCreateInput
        if self.action in ("update", "partial_update"):
            return ActivityUpdateInput
        return ActivityOutput

    def _output(self, obj, status: int = 200) -> Response:
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            ActivityOutput(obj, context=self.get_serializer_context()).data, status=status
        )

    def create(self, request, *args, **kwargs):
        serializer = ActivityCreateInput(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        subjects = subjects_resolve(
            user=request.user, **{k: data.pop(k, None) for k in ("contact", "company", "deal")}
        )
        with transaction.atomic():
            activity = services.activity_log(actor=request.user, **data, **subjects)
        return self._output(activity, status=201)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        activity = self.get_object()
        serializer = ActivityUpdateInput(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        activity = services.activity_update(
            actor=request.user, activity=activity, data=dict(serializer.validated_data)
        )
        return self._output(activity)

    def destroy(self, request, *args, **kwargs):
        record_soft_delete(actor=request.user, obj=self.get_object())
        return Response(status=204)


router = routers.SimpleRouter()
router.register("activities", ActivityViewSet, basename="activity")
urlpatterns = router.urls
