"""Pages for follow-ups: My day (the landing page), the task form and list, completing
a task (HTMX), notifications. Thin: selectors read, services write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from svyaz.activities.subjects import subject_url
from svyaz.activities.views import done_redirect, preset_subjects, quick_times, safe_next
from svyaz.core.errors import PermissionDenied
from svyaz.core.lists import list_view, paginate
from svyaz.core.scoping import readonly_fields, require
from svyaz.core.services import require_on
from svyaz.followups import selectors, services
from svyaz.followups.forms import FollowupForm
from svyaz.followups.lists import followup_list_spec
from svyaz.followups.rows import RowKit, sla_script_texts


def _day_param(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# My day shows the first rows of each section; "Show more" brings the next ones (HTMX).
MY_DAY_PAGE = 25
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _keyset_param(value: str | None) -> tuple[datetime, int] | None:
    """`after=<due_at in µs since the epoch>_<id>` of the last row shown."""
    try:
        micros, _sep, pk = (value or "").partition("_")
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except ValueError:
        return None


def _keyset_value(row) -> str:
    return f"{(row.due_at - _EPOCH) // timedelta(microseconds=1)}_{row.pk}"


def _my_day_url(day: date, today: date) -> str:
    url = reverse("followups:my_day")
    return url if day == today else f"{url}?date={day.isoformat()}"


def _row_kit(request, data: dict) -> RowKit:
    return RowKit(
        request,
        day=data["day"],
        tz=data["tz"],
        now=data["now"],
        next_url=_my_day_url(data["day"], data["today"]),
    )


def _more_link(section: str, last_row, page_url: str, left: int) -> dict:
    """A section's "Show more": HTMX fetches the rows after the last one shown; without
    JavaScript the link reloads the page with the whole section."""
    glue = "&" if "?" in page_url else "?"
    return {
        "left": left,
        "href": f"{page_url}{glue}all={section}",
        "hx_get": f"{page_url}{glue}section={section}&after={_keyset_value(last_row)}",
    }


def _my_day_context(request, day: date | None, *, show_all: str = "") -> dict:
    limits = {show_all: selectors.MY_DAY_SECTION_LIMIT} if show_all else None
    data = selectors.my_day(
        user=request.user, day=day, limit=MY_DAY_PAGE, limits=limits, light=True
    )
    day = data["day"]
    kit = _row_kit(request, data)
    page_url = _my_day_url(day, data["today"])
    sections = {}
    for name in selectors.MY_DAY_SECTIONS:
        rows = kit.prepare(data[name])
        total = data["section_totals"][name]
        sections[name] = {
            "rows": rows,
            "rows_html": kit.html(rows),
            "total": total,
            "more": (
                _more_link(name, rows[-1], page_url, total - len(rows))
                if rows and total > len(rows)
                else None
            ),
        }
    return {
        **data,
        "sections": sections,
        "sla_texts": sla_script_texts(),
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "tomorrow": data["today"] + timedelta(days=1),
        "is_today": day == data["today"],
    }


def _my_day_more(request, day: date | None, section: str):
    """HTMX: the next page of one section, and its next "Show more" link if any."""
    data = selectors.my_day_section(
        user=request.user,
        section=section,
        after=_keyset_param(request.GET.get("after")),
        limit=MY_DAY_PAGE,
        day=day,
    )
    kit = _row_kit(request, data)
    rows = kit.prepare(data["rows"])
    more = None
    if data["left"]:
        more = _more_link(section, rows[-1], _my_day_url(data["day"], data["today"]), data["left"])
    return render(
        request,
        "followups/my_day.html#more_rows",
        {
            **data,
            "section_rows": rows,
            "rows_html": kit.html(rows),
            "section_more": more,
        },
    )


@login_required
@require_GET
def my_day(request):
    day = _day_param(request.GET.get("date"))
    section = request.GET.get("section", "")
    if request.htmx and section in selectors.MY_DAY_SECTIONS:
        return _my_day_more(request, day, section)
    show_all = request.GET.get("all", "")
    if show_all not in selectors.MY_DAY_SECTIONS:
        show_all = ""
    context = _my_day_context(request, day, show_all=show_all)
    if request.htmx and request.htmx.target == "my-day-body":
        return render(request, "followups/my_day.html#body", context)
    return render(request, "followups/my_day.html", context)


@login_required
@require_POST
def followup_complete(request, pk: int):
    followup = selectors.followup_get(user=request.user, pk=pk)
    error = ""
    try:
        result = request.POST.get("result", "")
        if "result" in readonly_fields(request.user, "tasks"):  # a field rule: not theirs
            result = ""
        followup = services.followup_complete(actor=request.user, followup=followup, result=result)
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("Done: %(title)s") % {"title": followup.title})
        return redirect(safe_next(request) or reverse("followups:my_day"))
    if error:
        followup.row_error = error
        followup.overdue_now = followup.is_overdue
        data = selectors.my_day_window(user=request.user, day=_day_param(request.POST.get("date")))
        kit = _row_kit(request, data)
        row = kit.prepare([selectors.DayRow.from_followup(followup)])[0]
        return render(request, "followups/my_day.html#row", {"row": row})
    # The row disappears from My day; the counters refresh out of band.
    if "date" in request.POST:
        # Only the counters: no rows read (limit 0) nor rendered.
        data = selectors.my_day(
            user=request.user, day=_day_param(request.POST.get("date")), limit=0
        )
        return render(
            request, "followups/my_day.html#counters", {"counts": data["counts"], "oob": True}
        )
    return HttpResponse("")


@login_required
@require_POST
def followup_cancel(request, pk: int):
    followup = selectors.followup_get(user=request.user, pk=pk)
    try:
        services.followup_cancel(
            actor=request.user, followup=followup, reason=request.POST.get("reason", "")
        )
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Cancelled: %(title)s") % {"title": followup.title})
    return done_redirect(request, safe_next(request) or reverse("followups:my_day"))


def _form_page(request, form, *, followup=None, preset=None):
    context = {
        "form": form,
        "followup": followup,
        "preset": preset or {},
        "next": safe_next(request),
        "quick": quick_times(request.user),
        "is_partial": bool(request.htmx),
    }
    template = (
        "followups/followup_form.html#form" if request.htmx else "followups/followup_form.html"
    )
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def followup_create(request):
    require(request.user, "tasks", "create")
    preset = preset_subjects(request)
    if request.method == "POST":
        form = FollowupForm(request.POST, user=request.user, preset=preset)
        if form.is_valid():
            try:
                followup = services.followup_create(actor=request.user, **form.service_data())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Task created: %(title)s") % {"title": followup.title})
                url = (
                    safe_next(request)
                    or subject_url(
                        contact=followup.contact, company=followup.company, deal=followup.deal
                    )
                    or reverse("followups:my_day")
                )
                return done_redirect(request, url)
    else:
        initial = {}
        if request.GET.get("kind"):
            initial["kind"] = request.GET["kind"]
        form = FollowupForm(user=request.user, preset=preset, initial=initial)
    return _form_page(request, form, preset=preset)


@login_required
@require_http_methods(["GET", "POST"])
def followup_edit(request, pk: int):
    followup = selectors.followup_get(user=request.user, pk=pk)
    require_on(request.user, "edit", followup)  # visible but not editable: 403, also for GET
    if request.method == "POST":
        form = FollowupForm(request.POST, user=request.user, instance=followup)
        if form.is_valid():
            data = form.service_data()
            if data.get("remind_at") is None:
                data.pop("remind_at")  # empty: keep the reminder's lead time
            try:
                services.followup_update(actor=request.user, followup=followup, data=data)
            except PermissionDenied as exc:
                return HttpResponseForbidden(str(exc))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Saved."))
                return done_redirect(
                    request, safe_next(request) or reverse("followups:followup_edit", args=[pk])
                )
    else:
        form = FollowupForm(user=request.user, instance=followup)
    return _form_page(request, form, followup=followup)


@login_required
@require_GET
def task_list(request):
    return list_view(request, followup_list_spec)


@login_required
@require_GET
def notifications(request):
    page = paginate(
        selectors.notification_list(user=request.user).select_related("followup"),
        request.GET.get("page"),
    )
    return render(request, "followups/notifications.html", {"page": page, "now": timezone.now()})


@login_required
@require_POST
def notification_read(request, pk: int):
    # Someone else's notification (or none): 404, like every record out of reach.
    if not services.notification_mark_read(user=request.user, notification_id=pk) and not (
        selectors.notification_list(user=request.user).filter(pk=pk).exists()
    ):
        raise Http404
    if request.htmx:
        note = selectors.notification_list(user=request.user).filter(pk=pk).first()
        if note is None:
            return HttpResponse("")
        return render(request, "followups/notifications.html#row", {"note": note})
    return redirect(safe_next(request) or reverse("followups:notifications"))


@login_required
@require_POST
def notifications_read_all(request):
    n = services.notification_mark_read(user=request.user)
    messages.success(request, _("%(n)d notification(s) marked read.") % {"n": n})
    return redirect(reverse("followups:notifications"))
