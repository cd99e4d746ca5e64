from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.accounts.forms import ProfileForm
from svyaz.accounts.services import (
    user_api_token_revoke,
    user_api_token_rotate,
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
    return render(request, "accounts/profile.html", {"form": form, "has_token": has_token})


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
