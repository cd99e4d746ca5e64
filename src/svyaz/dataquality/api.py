"""REST API of imports: the user's import jobs with their progress and per-row errors
(read-only; the wizard's pages start, run and undo imports)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, routers, serializers, viewsets
from rest_framework.decorators import action

from svyaz.dataquality.models import ImportJob, ImportRowError


class ImportJobOutput(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "entity",
            "original_name",
            "file_kind",
            "encoding",
            "delimiter",
            "headers",
            "mapping",
            "mode",
            "key_field",
            "status",
            "message",
            "total_rows",
            "processed",
            "percent",
            "created",
            "updated",
            "skipped",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportRowErrorOutput(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row", "column", "message", "raw"]


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ImportJobOutput
    queryset = ImportJob.objects.none()  # for the schema; get_queryset scopes every request
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["status", "entity"]
    search_fields = ["original_name"]
    ordering_fields = ["created_at", "finished_at", "total_rows", "errors"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        # An import is its author's (administrators see all); another's id is 404.
        qs = ImportJob.objects.all()
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        if not self.request.user.is_superuser:
            qs = qs.filter(user=self.request.user)
        return qs

    @action(detail=True, methods=["get"], serializer_class=ImportRowErrorOutput)
    def errors(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(job.row_errors.order_by("row", "id"))
        return self.get_paginated_response(ImportRowErrorOutput(page, many=True).data)


router = routers.SimpleRouter()
router.register("imports", ImportJobViewSet, basename="import")

urlpatterns = [*router.urls]
