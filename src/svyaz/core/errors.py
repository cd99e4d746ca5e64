"""The one domain error type. Services raise it; views and the API turn it into
field messages (forms) or a 400 with field errors (API) in one place each."""

from __future__ import annotations

from django.core.exceptions import ValidationError

__all__ = ["ValidationError", "PermissionDenied", "NotFound"]


class PermissionDenied(Exception):  # noqa: N818 - mirrors Django's name
    """The user may not do this to a record they can see (→ 403)."""


class NotFound(Exception):  # noqa: N818
    """The record does not exist or is outside the user's scope (→ 404)."""
