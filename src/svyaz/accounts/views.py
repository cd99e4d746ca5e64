from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.accounts.forms import ProfileForm, TokenForm
from svyaz.accounts.services import (
    TWO_FACTOR_SESSION_KEY,
    TwoFactorState,
    two_factor_check,
    two_factor_confirm,
    two_factor_device_for_setup,
    two_factor_disable,
    user_api_token_revoke,
    user_api_token_rotate,
    user_has_2fa,
    user_sessions_end_others,
    user_update_preferences,
)


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_update_preferences(user=request.user, data=form.cleaned_data)
        lang = request.user.language or translation.get_language_from_request(request)
        translation.activate(lang)
        messages.success(request, _("Preferences saved."))
        response = redirect("accounts:profile")
        if request.user.language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, request.user.language, samesite="Lax"
            )
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    from rest_framework.authtoken.models import Token

    has_token = Token.objects.filter(user=request.user).exists()
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "has_token": has_token, "has_2fa": user_has_2fa(user=request.user)},
    )


@require_POST
@login_required
def api_token(request):
    """Create (or replace) or revoke the user's personal API token. The key is shown once."""
    if request.POST.get("action") == "revoke":
        user_api_token_revoke(user=request.user)
        messages.success(request, _("API token revoked."))
        return redirect("accounts:profile")
    key = user_api_token_rotate(user=request.user)
    messages.success(
        request, _("Your new API token (shown once, copy it now): %(key)s") % {"key": key}
    )
    return redirect("accounts:profile")


@require_POST
def language_switch(request):
    """Switch the UI language: kept on the user (if signed in) and in the cookie."""
    lang = request.POST.get("language", "")
    if lang not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(_("Unknown language."))
    if request.user.is_authenticated:
        user_update_preferences(user=request.user, data={"language": lang})
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    response = redirect(nxt)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, lang, samesite="Lax", max_age=365 * 24 * 3600
    )
    return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response: the login page with a clear message (HTTP 429)."""
    from django.contrib.auth.forms import AuthenticationForm

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Too many failed login attempts. Login for this user from your address is locked "
        "for %(minutes)s minutes. Try again later or ask an administrator to unlock it."
    ) % {"minutes": minutes}
    form = AuthenticationForm(request)
    if credentials and credentials.get("username"):
        form = AuthenticationForm(request, initial={"username": credentials["username"]})
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked_message": message, "next": request.POST.get("next", "")},
        status=429,
    )


def _safe_next(request, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return default


@login_required
def two_factor(request):
    """Set up (QR code + secret, confirmed by a code) or turn off TOTP two-factor auth."""
    enabled = user_has_2fa(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        try:
            if action == "disable" and enabled:
                two_factor_disable(user=request.user, token=form.cleaned_data["token"])
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("accounts:profile")
            if action == "confirm" and not enabled:
                from django_otp import login as otp_login

                device = two_factor_confirm(user=request.user, token=form.cleaned_data["token"])
                otp_login(request, device)
                request.session[TWO_FACTOR_SESSION_KEY] = TwoFactorState.OK
                messages.success(request, _("Two-factor authentication is on."))
                return redirect(_safe_next(request, reverse("accounts:profile")))
        except ValidationError as exc:
            for error in exc.message_dict.get("token", []):
                form.add_error("token", error)
    context = {
        "form": form,
        "enabled": enabled,
        "required": request.user.must_use_2fa(),
        "next": _safe_next(request, ""),
    }
    if not enabled:
        device = two_factor_device_for_setup(user=request.user)
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(
            scale=5, title=_("QR code for the authenticator app")
        )
    return render(request, "accounts/two_factor.html", context)


@login_required
def two_factor_verify(request):
    """The second step of login: a code from the user's authenticator app."""
    from django_otp import login as otp_login

    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_check(user=request.user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            for error in exc.message_dict.get("token", []):
                form.add_error("token", error)
        else:
            otp_login(request, device)
            request.session[TWO_FACTOR_SESSION_KEY] = TwoFactorState.OK
            return redirect(_safe_next(request, reverse(settings.LOGIN_REDIRECT_URL)))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _safe_next(request, "")},
    )


@require_POST
@login_required
def sessions_end_others(request):
    """Log out of every other session of this user (other browsers and devices)."""
    ended = user_sessions_end_others(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(request, _("Other sessions ended: %(count)s.") % {"count": ended})
    return redirect("accounts:profile")
