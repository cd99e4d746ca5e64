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


class TwoFactorMiddleware:
    """After the password, a user with a confirmed TOTP device must enter a code, and a
    user who must use 2FA but has no device must set one up, before any page works.

    The state is computed at login and kept in the session (no query per request).
    API calls authenticated by a personal token (`Authorization: Token …`) are not
    affected; a session-authenticated API call of an unverified user gets 403.
    Runs after AuthenticationMiddleware and django-otp's OTPMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode

        from svyaz.accounts.services import (
            TWO_FACTOR_SESSION_KEY,
            TwoFactorState,
            two_factor_state,
        )

        user = request.user
        if not user.is_authenticated or request.META.get("HTTP_AUTHORIZATION"):
            return self.get_response(request)
        state = request.session.get(TWO_FACTOR_SESSION_KEY)
        if state is None:
            state = two_factor_state(user=user)
            request.session[TWO_FACTOR_SESSION_KEY] = state
        if state == TwoFactorState.OK:
            return self.get_response(request)
        target = reverse(
            "accounts:two_factor_verify"
            if state == TwoFactorState.VERIFY
            else "accounts:two_factor"
        )
        allowed = (
            target,
            reverse("accounts:logout"),
            reverse("accounts:language"),
            settings.STATIC_URL,
        )
        if request.path.startswith(allowed):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            from django.utils.translation import gettext as _

            return JsonResponse(
                {"detail": _("Enter your two-factor authentication code first.")}, status=403
            )
        url = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":  # (HtmxMiddleware runs later)
            from django.http import HttpResponse

            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
