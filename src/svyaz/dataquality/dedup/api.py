"""REST API of the duplicate queue: GET /api/v1/duplicates/ (scoped to pairs whose both
records the user may see; filters entity, status, min_score) and
POST /api/v1/duplicates/<id>/dismiss/ ("not a duplicate", remembered)."""

from __future__ import annotations

import django_filters
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from svyaz.dataquality.dedup import selectors, services
from svyaz.dataquality.dedup.views import merge_url
from svyaz.dataquality.models import DuplicateEntity, DuplicatePair, DuplicateStatus


class DuplicatePairFilter(django_filters.FilterSet):
    entity = django_filters.ChoiceFilter(choices=DuplicateEntity.choices)
    status = django_filters.ChoiceFilter(choices=DuplicateStatus.choices)
    min_score = django_filters.NumberFilter(
        field_name="score",
        lookup_expr="gte",
        label=_("Score from"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )

    class Meta:
        model = DuplicatePair
        fields = ["entity", "status", "min_score"]


class DuplicatePairOutput(serializers.ModelSerializer):
    a = serializers.SerializerMethodField()
    b = serializers.SerializerMethodField()
    merge_url = serializers.SerializerMethodField()

    class Meta:
        model = DuplicatePair
        fields = [
            "id",
            "entity",
            "a_id",
            "b_id",
            "a",
            "b",
            "score",
            "reasons",
            "status",
            "found_at",
            "seen_at",
            "decided_at",
            "merge_url",
        ]

    def _record(self, obj, pk) -> dict:
        shown = self.context.get("shown", {}).get(obj.entity, {})
        return shown.get(pk) or {}

    def get_a(self, obj) -> dict:
        return self._record(obj, obj.a_id)

    def get_b(self, obj) -> dict:
        return self._record(obj, obj.b_id)

    def get_merge_url(self, obj) -> str:
        return merge_url(obj.entity, obj.a_id, obj.b_id)


class DuplicatePairViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DuplicatePairOutput
    queryset = DuplicatePair.objects.none()  # for the schema; get_queryset scopes
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = DuplicatePairFilter
    ordering_fields = ["score", "found_at", "seen_at"]
    ordering = ["-score", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DuplicatePair.objects.none()
        # Every status by default in the API; the filter narrows it.
        return selectors.duplicate_pairs(self.request.user, status=None)

    def _with_records(self, pairs) -> dict:
        by_entity: dict[str, set[int]] = {}
        for p in pairs:
            by_entity.setdefault(p.entity, set()).update((p.a_id, p.b_id))
        return {ent: selectors.record_fields(ids, ent) for ent, ids in by_entity.items()}

    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        ctx = {**self.get_serializer_context(), "shown": self._with_records(page)}
        return self.get_paginated_response(DuplicatePairOutput(page, many=True, context=ctx).data)

    def retrieve(self, request, *args, **kwargs):
        pair = self.get_object()
        ctx = {**self.get_serializer_context(), "shown": self._with_records([pair])}
        return Response(DuplicatePairOutput(pair, context=ctx).data)

    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        pair = services.duplicate_dismiss(actor=request.user, pair=self.get_object())
        ctx = {**self.get_serializer_context(), "shown": self._with_records([pair])}
        return Response(DuplicatePairOutput(pair, context=ctx).data)
