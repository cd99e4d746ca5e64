"""Every request runs in an audit context: source "api" under /api/, else "page"."""

from __future__ import annotations

from svyaz.audit.context import new_request_id, pop, push


class AuditContextMiddleware:
    """Put after AuthenticationMiddleware. The actor is not read here but when a row is
    written (from `request.user`), so API token authentication done by DRF inside the view
    is seen too. Refused accesses noted during the request are written at its end, after
    the view's transaction has been committed or rolled back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info or "/"
        token, ctx, outermost = push(
            "api" if path.startswith("/api/") else "page",
            request=request,
            request_id=new_request_id(request.headers.get("X-Request-ID")),
            path=f"{request.method} {request.path}"[:255],
        )
        try:
            return self.get_response(request)
        finally:
            pop(token, ctx, outermost)
