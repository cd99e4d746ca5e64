"""REST API of imports: start an import (POST /imports/, multipart: file, entity, mode, key,
mapping JSON or template id → 201, runs in the background), follow its progress and counters
(GET /imports/<id>/), read its per-row errors (GET /imports/<id>/errors/). The wizard's
pages preview and undo imports. Data completeness of the base: GET /quality/.

Embedded mode (no Celery broker): reading a running import advances it by one slice of
work, as the progress page's poll does — poll GET /imports/<id>/ until "done"."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from svyaz.dataquality import services
from svyaz.dataquality.dedup import api as dedup_api
from svyaz.dataquality.merge_views import MergeViewSet
from svyaz.dataquality.models import (
    ImportEntity,
    ImportJob,
    ImportKey,
    ImportMode,
    ImportRowError,
    MappingTemplate,
)


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


class ImportCreateInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8 / Windows-1251; ; , or tab) or XLSX.")
    entity = serializers.ChoiceField(choices=ImportEntity.choices)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.CREATE)
    key = serializers.ChoiceField(
        choices=ImportKey.choices, required=False, allow_blank=True, default=""
    )
    mapping = serializers.JSONField(
        required=False,
        help_text='{"<column number or header>": "<field>"}; default: the guessed mapping.',
    )
    template = serializers.IntegerField(required=False, help_text="A saved mapping template.")

    def validate_mapping(self, value):
        if isinstance(value, str):  # multipart sends JSON as text
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError(_("Send the mapping as a JSON object.")) from None
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Send the mapping as a JSON object."))
        return value

    def validate_template(self, value):
        template = MappingTemplate.objects.filter(
            pk=value, owner=self.context["request"].user
        ).first()
        if template is None:
            raise serializers.ValidationError(_("Unknown template."))
        return template


class ImportJobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ImportJobOutput
    parser_classes = [MultiPartParser, FormParser, JSONParser]
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

    def get_serializer_class(self):
        return ImportCreateInput if self.action == "create" else ImportJobOutput

    @extend_schema(request=ImportCreateInput, responses={201: ImportJobOutput})
    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            job = services.import_submit(
                actor=request.user,
                entity=v["entity"],
                upload=v["file"],
                mode=v["mode"],
                key_field=v.get("key", ""),
                mapping=v.get("mapping"),
                template=v.get("template"),
            )
        except DjangoValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            # The services say "key_field"; this endpoint's parameter is "key".
            names = {"key_field": "key", "__all__": "non_field_errors"}
            fields = {names.get(k, k): m for k, m in exc.message_dict.items()}
            return Response(fields, status=400)
        return Response(ImportJobOutput(job).data, status=201)

    def retrieve(self, request, *args, **kwargs):
        job = services.import_step(self.get_object())  # embedded: advances a running job
        return Response(ImportJobOutput(job).data)

    @action(detail=True, methods=["get"], serializer_class=ImportRowErrorOutput)
    def errors(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(job.row_errors.order_by("row", "id"))
        return self.get_paginated_response(ImportRowErrorOutput(page, many=True).data)


router = routers.SimpleRouter()
router.register("imports", ImportJobViewSet, basename="import")
router.register("merges", MergeViewSet, basename="merge")  # dataquality/merge_views.py
router.register(  # dataquality/dedup/api.py
    "duplicates", dedup_api.DuplicatePairViewSet, basename="duplicate"
)


class QualityView(APIView):
    """Data completeness of the records the user sees: per entity the average score
    (0–100) and how many records miss each important field (one query per entity; cached
    for a few minutes per access scope — `?refresh=1` recomputes)."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        from svyaz.dataquality.completeness import base_completeness

        fresh = str(request.query_params.get("refresh", "")).lower() in ("1", "true", "yes")
        return Response({"entities": base_completeness(request.user, fresh=fresh)})


urlpatterns = [*router.urls, path("quality/", QualityView.as_view(), name="quality-api")]
