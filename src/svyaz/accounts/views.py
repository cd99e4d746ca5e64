from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from svyaz.accounts.forms import ProfileForm
from svyaz.accounts.services import user_update_preferences


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
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, request.user.language, samesite="Lax")
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    return render(request, "accounts/profile.html", {"form": form})
