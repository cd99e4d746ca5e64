"""Request hygiene shared by every page and API route."""

from __future__ import annotations

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


class RejectNulCharactersMiddleware:
    """Answer 400 to a query string or form field holding a NUL character.

    PostgreSQL text cannot store NUL (it raises DataError → a 500), SQLite silently keeps
    it; no person types one. Forms already refuse it field by field; this covers search
    boxes, filters and any parameter read outside a form.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get(
            "QUERY_STRING", ""
        ):
            return HttpResponseBadRequest(_("The request contains a NUL character."))
        # Only url-encoded bodies: Django keeps their raw bytes, so views that read
        # request.body (signed webhooks) still can. A multipart body would be consumed here;
        # its fields go through forms, whose CharFields refuse NUL themselves.
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return HttpResponseBadRequest(_("The request contains a NUL character."))
        return self.get_response(request)


class DomainErrorMiddleware:
    """Pages: a service's core.errors.PermissionDenied → the 403 page, NotFound → the 404
    page (the API turns them into 403/404 JSON in core.api.exception_handler). Denials are
    logged where they are raised (core.scoping)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
        from django.http import Http404

        from svyaz.core.errors import NotFound, PermissionDenied

        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(str(exception)) from exception
        if isinstance(exception, NotFound):
            raise Http404(str(exception)) from exception
        return None
