"""Per-user language and time zone.

Language: the user's saved choice, else the language cookie, else the browser's
Accept-Language (Django's LocaleMiddleware does the last two). Time zone: the user's,
else the installation's.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone


class UserLanguageMiddleware:
    """Runs before LocaleMiddleware: copies the signed-in user's language into the
    cookie LocaleMiddleware reads. Session auth is resolved lazily here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The auth middleware's helper caches the user on the request, so this costs
        # no second query when AuthenticationMiddleware resolves request.user later.
        from django.contrib.auth.middleware import get_user

        user = get_user(request)
        lang = getattr(user, "language", "") if user.is_authenticated else ""
        if lang and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != lang:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = lang
        return self.get_response(request)


class UserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tzname = getattr(request.user, "timezone", "") if request.user.is_authenticated else ""
        if tzname:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tzname))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # Threads are reused across requests: never leak one user's zone to the next.
            timezone.deactivate()
