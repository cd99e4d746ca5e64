"""The merge's two front doors: pages (side-by-side merge, history with undo) and the
REST API (POST /api/v1/merges/, POST /api/v1/merges/<id>/undo/). Thin: the services in
dataquality/merge.py check access, validate and write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters import rest_framework as django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from svyaz.core.errors import NotFound, PermissionDenied, ValidationError
from svyaz.dataquality import merge as merging
from svyaz.dataquality.models import Merge, MergeEntity

CARD_URLS = {
    MergeEntity.CONTACT: "contacts:contact_detail",
    MergeEntity.COMPANY: "contacts:company_detail",
}
SIDES = ("a", "b")


def card_url(entity: str, pk: int) -> str:
    return reverse(CARD_URLS[entity], args=[pk])


# --- pages --------------------------------------------------------------------------------


def _picks_from_post(post, preview: merging.MergePreview, survivor_side: str) -> dict[str, str]:
    """The page's radios say which record's value to keep ("a"/"b"); the service wants
    "survivor"/"other"."""
    picks = {}
    for row in preview.fields:
        side = post.get(f"pick_{row.name}")
        if row.differ and side in SIDES:
            picks[row.name] = merging.SURVIVOR if side == survivor_side else merging.OTHER
    return picks


def _undo_notice(request, merge: Merge) -> str:
    """The success message with its "Undo" button (a small POST form)."""
    text = _("“%(other)s” (#%(other_id)s) was merged into “%(survivor)s” (#%(survivor_id)s).") % {
        "other": merge.other_name,
        "other_id": merge.other_id,
        "survivor": merge.survivor_name,
        "survivor_id": merge.survivor_id,
    }
    return format_html(
        '{} <form method="post" action="{}" class="d-inline ms-2">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="next" value="{}">'
        '<button class="btn btn-sm btn-outline-secondary" id="merge-undo">'
        '<i class="bi bi-arrow-counterclockwise"></i> {}</button></form>',
        text,
        reverse("dataquality:merge_undo", args=[merge.pk]),
        get_token(request),
        reverse("dataquality:merge_list"),
        _("Undo"),
    )


@login_required
def merge_page(request):
    """GET ?entity=contact&a=<id>&b=<id>: both records side by side, a radio per differing
    field, what moves; POST: merge, then the survivor's card with an "Undo" button."""
    params = request.POST if request.method == "POST" else request.GET
    entity = params.get("entity", "")
    a_id, b_id = params.get("a", ""), params.get("b", "")
    if entity not in merging.ENTITY_MODELS:
        raise Http404
    try:
        preview = merging.merge_preview(user=request.user, entity=entity, a_id=a_id, b_id=b_id)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        context = {"entity": entity, "preview": None, "errors": exc.messages}
        return render(request, "dataquality/merge.html", context, status=400)

    errors: list[str] = []
    survivor_side = "a"
    picks: dict[str, str] = {}
    if request.method == "POST":
        survivor_side = request.POST.get("survivor", "")
        picks = {row.name: request.POST.get(f"pick_{row.name}", "") for row in preview.fields}
        if survivor_side not in SIDES:
            errors.append(_("Choose the record to keep."))
        else:
            survivor, other = (
                (preview.a, preview.b) if survivor_side == "a" else (preview.b, preview.a)
            )
            try:
                merge = merging.merge_records(
                    actor=request.user,
                    entity=entity,
                    survivor_id=survivor.pk,
                    other_id=other.pk,
                    choices=_picks_from_post(request.POST, preview, survivor_side),
                )
            except NotFound as exc:
                raise Http404 from exc
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from exc
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(request, _undo_notice(request, merge))
                return redirect(card_url(entity, merge.survivor_id))
    context = {
        "entity": entity,
        "preview": preview,
        "errors": errors,
        "survivor_side": survivor_side,
        "rows": [
            (row, picks.get(row.name) if picks.get(row.name) in SIDES else row.pick)
            for row in preview.fields
        ],
        "a_url": card_url(entity, preview.a.pk),
        "b_url": card_url(entity, preview.b.pk),
    }
    return render(request, "dataquality/merge.html", context, status=400 if errors else 200)


@login_required
def merge_list_page(request):
    """The history of merges whose kept record the user can see, newest first."""
    qs = merging.merge_list(user=request.user)
    entity = request.GET.get("entity", "")
    if entity in merging.ENTITY_MODELS:
        qs = qs.filter(entity=entity)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "dataquality/merge_list.html",
        {"page": page, "entity": entity, "entities": MergeEntity.choices},
    )


@login_required
@require_POST
def merge_undo_view(request, pk: int):
    try:
        merge = merging.merge_get(user=request.user, pk=pk)
        merge = merging.merge_undo(actor=request.user, merge_id=merge.pk)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if request.htmx:
            merge = Merge.objects.select_related("actor", "undone_by").get(pk=pk)
            return render(
                request, "dataquality/merge_list.html#merge-row", {"m": merge, "error": error}
            )
        messages.error(request, error)
    else:
        if request.htmx:
            merge = Merge.objects.select_related("actor", "undone_by").get(pk=merge.pk)
            return render(
                request,
                "dataquality/merge_list.html#merge-row",
                {"m": merge, "notice": merging.undo_message(merge)},
            )
        messages.success(request, merging.undo_message(merge))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("dataquality:merge_list")
    return redirect(target)


# --- API ----------------------------------------------------------------------------------


class MergeInput(serializers.Serializer):
    entity = serializers.ChoiceField(choices=MergeEntity.choices)
    survivor = serializers.IntegerField(min_value=1)
    other = serializers.IntegerField(min_value=1)
    choices = serializers.DictField(
        child=serializers.ChoiceField(choices=[merging.SURVIVOR, merging.OTHER]),
        required=False,
        allow_empty=True,
    )


class MergeOutput(serializers.ModelSerializer):
    survivor = serializers.IntegerField(source="survivor_id", read_only=True)
    other = serializers.IntegerField(source="other_id", read_only=True)
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    undone_by = serializers.IntegerField(source="undone_by_id", read_only=True, allow_null=True)
    moved_rows = serializers.SerializerMethodField()

    class Meta:
        model = Merge
        fields = [
            "id",
            "entity",
            "survivor",
            "other",
            "survivor_name",
            "other_name",
            "actor",
            "created_at",
            "choices",
            "survivor_before",
            "survivor_after",
            "moved_rows",
            "undone_at",
            "undone_by",
            "undo_report",
        ]

    def get_moved_rows(self, obj: Merge) -> int:
        return len(obj.moved or [])


class MergeDetailOutput(MergeOutput):
    class Meta(MergeOutput.Meta):
        fields = [*MergeOutput.Meta.fields, "moved"]


class MergeFilter(django_filters.FilterSet):
    undone = django_filters.BooleanFilter(
        field_name="undone_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Merge
        fields = ["entity", "survivor_id", "other_id"]


class MergeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Merges of duplicate contacts and companies. POST merges (201), `undo` undoes."""

    queryset = Merge.objects.none()  # for the schema; get_queryset scopes every request
    serializer_class = MergeOutput
    filter_backends = [
        django_filters.DjangoFilterBackend,
        filters.OrderingFilter,
        filters.SearchFilter,
    ]
    filterset_class = MergeFilter
    search_fields = ["survivor_name", "other_name"]
    ordering_fields = ["created_at", "undone_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Merge.objects.none()
        return merging.merge_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return MergeInput
        if self.action in ("retrieve", "undo"):
            return MergeDetailOutput
        return MergeOutput

    @extend_schema(request=MergeInput, responses={201: MergeDetailOutput})
    def create(self, request, *args, **kwargs):
        data = MergeInput(data=request.data)
        data.is_valid(raise_exception=True)
        merge = merging.merge_records(
            actor=request.user,
            entity=data.validated_data["entity"],
            survivor_id=data.validated_data["survivor"],
            other_id=data.validated_data["other"],
            choices=data.validated_data.get("choices"),
        )
        return Response(MergeDetailOutput(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MergeDetailOutput)
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        merge = self.get_object()
        merge = merging.merge_undo(actor=request.user, merge_id=merge.pk)
        return Response(MergeDetailOutput(merge).data)
