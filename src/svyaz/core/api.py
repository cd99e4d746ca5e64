"""API plumbing shared by every app: pagination without full counts, one exception
handler that turns domain errors into 400/403/404 with field messages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from svyaz.core import errors


class CappedPageNumberPagination(PageNumberPagination):
    """Page-number pagination that never runs a full COUNT on a large table: it counts
    at most SVYAZ_COUNT_CAP rows and says so (`count_capped`)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        try:
            self.page_number = max(1, int(request.query_params.get(self.page_query_param, 1)))
        except ValueError as exc:
            raise exceptions.ValidationError(
                {"page": ["A page number must be a positive integer."]}
            ) from exc
        offset = (self.page_number - 1) * page_size
        rows = list(queryset[offset : offset + page_size + 1])
        self.has_next = len(rows) > page_size
        cap = settings.SVYAZ_COUNT_CAP
        # Counted without the ORDER BY: a sliced count keeps it, and walking the sort index
        # through 10,001 rows cost ~10× a plain scan that stops at the cap.
        self.count = (
            queryset.order_by()[: cap + 1].count()
            if offset == 0 or self.has_next
            else offset + len(rows)
        )
        self.count_capped = self.count > cap
        if self.count_capped:
            self.count = cap
        self.page_size_used = page_size
        return rows[:page_size]

    def _link(self, number):
        url = self.request.build_absolute_uri()
        from rest_framework.utils.urls import remove_query_param, replace_query_param

        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "count_capped": self.count_capped,
                "next": self._link(self.page_number + 1) if self.has_next else None,
                "previous": self._link(self.page_number - 1) if self.page_number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer"},
                "count_capped": {"type": "boolean"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


def _field_errors(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response(_field_errors(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, errors.PermissionDenied):
        return Response({"detail": str(exc) or "Forbidden."}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, errors.NotFound | Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)
