"""Which sites may use a chat widget, and the CORS answer for them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def origin_allowed(widget, origin: str) -> bool:
    """An empty list admits any site; else the page's Origin must be listed exactly
    (scheme://host[:port])."""
    allowed = [str(o).rstrip("/") for o in (widget.allowed_origins or [])]
    if not allowed:
        return True
    return bool(origin) and origin.rstrip("/") in allowed


def cors(request: HttpRequest, widget, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and origin_allowed(widget, origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept, X-Svyaz-Visitor"
        response["Access-Control-Max-Age"] = "3600"
    response["Vary"] = "Origin"
    return response
