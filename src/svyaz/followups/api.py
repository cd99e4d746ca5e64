"""REST API for follow-ups (tasks and callbacks), notifications and My day, over the same
selectors and services as the pages. An id outside the user's scope is 404."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import path
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, mixins, routers, serializers, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.response import Response

from svyaz.activities.subjects import subjects_resolve
from svyaz.core.access import ScopedObjectMixin
from svyaz.core.field_rules import FieldRulesOrderingFilter, FieldRulesSerializerMixin
from svyaz.core.services import record_soft_delete
from svyaz.followups import selectors, services
from svyaz.followups.filters import FollowupFilter
from svyaz.followups.models import Followup, FollowupKind, Notification, Priority


class FollowupOutput(FieldRulesSerializerMixin, serializers.ModelSerializer):
    assignee_name = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Followup
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "assignee",
            "assignee_name",
            "due_at",
            "priority",
            "remind_at",
            "reminded_at",
            "status",
            "is_overdue",
            "completed_at",
            "result",
            "contact",
            "company",
            "deal",
            "source_activity",
            "owner",
            "department",
            "created_at",
            "updated_at",
        ]

    def get_assignee_name(self, obj) -> str:
        return str(obj.assignee)


def _users():
    return get_user_model().objects.filter(is_active=True)


class FollowupCreateInput(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "tasks"

    title = serializers.CharField(max_length=255)
    kind = serializers.ChoiceField(
        choices=FollowupKind.choices, required=False, default=FollowupKind.TASK
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=_users(), required=False, allow_null=True
    )
    due_at = serializers.DateTimeField()
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, default=Priority.NORMAL
    )
    remind_at = serializers.DateTimeField(required=False, allow_null=True)
    contact = serializers.IntegerField(required=False, allow_null=True)
    company = serializers.IntegerField(required=False, allow_null=True)
    deal = serializers.IntegerField(required=False, allow_null=True)


class FollowupUpdateInput(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "tasks"

    title = serializers.CharField(max_length=255, required=False)
    kind = serializers.ChoiceField(choices=FollowupKind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=_users(), required=False)
    due_at = serializers.DateTimeField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    remind_at = serializers.DateTimeField(required=False, allow_null=True)


class CompleteInput(FieldRulesSerializerMixin, serializers.Serializer):
    field_rules_entity = "tasks"

    result = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


@extend_schema_view(
    create=extend_schema(request=FollowupCreateInput, responses={201: FollowupOutput}),
    update=extend_schema(request=FollowupUpdateInput, responses=FollowupOutput),
    partial_update=extend_schema(request=FollowupUpdateInput, responses=FollowupOutput),
)
class FollowupViewSet(ScopedObjectMixin, viewsets.ModelViewSet):
    filter_backends = [DjangoFilterBackend, FieldRulesOrderingFilter, filters.SearchFilter]
    filterset_class = FollowupFilter
    search_fields = ["title", "description"]
    ordering_fields = ["due_at", "created_at", "priority", "status", "completed_at"]
    ordering = ["due_at", "id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.followup_list_rows(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return FollowupCreateInput
        if self.action in ("update", "partial_update"):
            return FollowupUpdateInput
        if self.action in ("complete", "cancel"):
            return CompleteInput
        return FollowupOutput

    def _output(self, obj, status: int = 200) -> Response:
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            FollowupOutput(obj, context=self.get_serializer_context()).data, status=status
        )

    def create(self, request, *args, **kwargs):
        serializer = FollowupCreateInput(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        subjects = subjects_resolve(
            user=request.user, **{k: data.pop(k, None) for k in ("contact", "company", "deal")}
        )
        followup = services.followup_create(actor=request.user, **data, **subjects)
        return self._output(followup, status=201)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        followup = self.get_object()
        serializer = FollowupUpdateInput(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        followup = services.followup_update(
            actor=request.user, followup=followup, data=dict(serializer.validated_data)
        )
        return self._output(followup)

    def destroy(self, request, *args, **kwargs):
        record_soft_delete(actor=request.user, obj=self.get_object())
        return Response(status=204)

    @extend_schema(request=CompleteInput, responses=FollowupOutput)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        followup = self.get_object()
        serializer = CompleteInput(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        followup = services.followup_complete(
            actor=request.user,
            followup=followup,
            result=serializer.validated_data.get("result", ""),
        )
        return self._output(followup)

    @extend_schema(request=CompleteInput, responses=FollowupOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        followup = self.get_object()
        serializer = CompleteInput(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        followup = services.followup_cancel(
            actor=request.user,
            followup=followup,
            reason=serializer.validated_data.get("result", ""),
        )
        return self._output(followup)


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "text", "url", "followup", "created_at", "read_at"]


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = NotificationOutput
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Notification.objects.none()
        qs = selectors.notification_list(user=self.request.user)
        unread = self.request.query_params.get("unread")
        if unread in ("1", "true"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(request=None, responses=NotificationOutput)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        note = self.get_object()
        services.notification_mark_read(user=request.user, notification_id=note.pk)
        note.refresh_from_db()
        return Response(NotificationOutput(note).data)


class MyDayQuery(serializers.Serializer):
    date = serializers.DateField(required=False)


class MyDayCounts(serializers.Serializer):
    due_today = serializers.IntegerField()
    overdue = serializers.IntegerField()
    callbacks = serializers.IntegerField()
    upcoming = serializers.IntegerField()
    done_today = serializers.IntegerField()
    calls_today = serializers.IntegerField()


class MyDayOutput(serializers.Serializer):
    date = serializers.DateField()
    counts = MyDayCounts()
    callbacks = FollowupOutput(many=True)
    overdue = FollowupOutput(many=True)
    due_today = FollowupOutput(many=True)
    upcoming = FollowupOutput(many=True)


@extend_schema(
    parameters=[
        OpenApiParameter("date", str, description="YYYY-MM-DD; default: today in the user's zone")
    ],
    responses=MyDayOutput,
)
@api_view(["GET"])
def my_day(request):
    """The user's day: callbacks, overdue, due that day, next 7 days, and counts.
    ?date=YYYY-MM-DD picks the day (default: today in the user's time zone)."""
    query = MyDayQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    day: date | None = query.validated_data.get("date")
    data = selectors.my_day(user=request.user, day=day)
    sections = ("callbacks", "overdue", "due_today", "upcoming")
    return Response(
        {
            "date": data["day"].isoformat(),
            "counts": data["counts"],
            **{
                name: FollowupOutput(data[name], many=True, context={"request": request}).data
                for name in sections
            },
        }
    )


router = routers.SimpleRouter()
router.register("followups", FollowupViewSet, basename="followup")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [*router.urls, path("my-day/", my_day, name="my-day")]
