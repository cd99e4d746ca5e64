"""Pages for activities: the "log an activity" form (full page or HTMX modal body) and
the activity list. Thin: selectors read, services write."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from svyaz.activities import services
from svyaz.activities.forms import DATETIME_LOCAL, ActivityForm
from svyaz.activities.lists import activity_list_spec
from svyaz.activities.subjects import subject_url, subjects_resolve
from svyaz.core.lists import list_view
from svyaz.core.scoping import require


def safe_next(request: HttpRequest) -> str:
    """`next` from the form or the query string, when it points back to this site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def preset_subjects(request: HttpRequest) -> dict:
    """?contact=<pk> / ?company=<pk> / ?deal=<pk> → the records; out of scope → 404."""
    ids = {n: request.GET.get(n) for n in ("contact", "company", "deal") if request.GET.get(n)}
    if request.method == "POST":
        ids = {
            n: request.POST.get(n) for n in ("contact", "company", "deal") if request.POST.get(n)
        } or ids
    try:
        return subjects_resolve(user=request.user, **ids)
    except ValidationError as exc:
        raise Http404 from exc


def quick_times(user) -> dict[str, str]:
    """Values for the "tomorrow" / "in 2 hours" buttons, in the user's time zone."""
    from svyaz.followups.selectors import user_timezone

    tz = user_timezone(user)
    return {
        "tomorrow": timezone.localtime(services.default_callback_at(user=user), tz).strftime(
            DATETIME_LOCAL
        ),
        "in_2h": timezone.localtime(timezone.now() + timedelta(hours=2), tz).strftime(
            DATETIME_LOCAL
        ),
    }


def done_redirect(request: HttpRequest, url: str):
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request):
    require(request.user, "activities", "create")
    preset = preset_subjects(request)
    if request.method == "POST":
        form = ActivityForm(request.POST, user=request.user, preset=preset)
        if form.is_valid():
            data = form.service_data()
            try:
                activity = services.activity_log(actor=request.user, **data)
            except ValidationError as exc:
                form.add_service_errors(exc, ActivityForm.service_names)
            else:
                messages.success(
                    request, _("Logged: %(title)s") % {"title": services.activity_title(activity)}
                )
                url = (
                    safe_next(request)
                    or subject_url(
                        contact=activity.contact, company=activity.company, deal=activity.deal
                    )
                    or reverse("activities:activity_list")
                )
                return done_redirect(request, url)
    else:
        initial = {"occurred_at": timezone.localtime()}
        kind = request.GET.get("kind", "")
        if kind:
            initial["kind"] = kind
        form = ActivityForm(user=request.user, preset=preset, initial=initial)
    context = {
        "form": form,
        "preset": preset,
        "next": safe_next(request),
        "quick": quick_times(request.user),
        "is_partial": bool(request.htmx),
    }
    template = (
        "activities/activity_form.html#form" if request.htmx else "activities/activity_form.html"
    )
    return render(request, template, context)


@login_required
@require_http_methods(["GET"])
def activity_list(request):
    return list_view(request, activity_list_spec)
