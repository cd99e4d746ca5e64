"""What a My day row shows, worked out once per request instead of once per row.

A busy manager has a few hundred open follow-ups (issue #6). Rendered naively, every row
reversed four URLs, formatted its due time through the localized date filters, translated
its labels, checked the field rules and rendered its own "Done" form with a CSRF token:
about a millisecond of CPU per row, the whole cost of the page. Here the URLs are patterns
filled with the id, the labels are translated once, the due times are formatted from the
user's zone with a per-date cache, and the form is rendered once with a placeholder id.
The template keeps the markup; rows only carry ready strings.

It also works out the first-response SLA timer of intake's tasks: the deadline in ISO form
for `static/followups/sla_timer.js`, the server's "now" (the script corrects the browser's
clock with it) and a text that reads right without JavaScript."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from svyaz.core.scoping import readonly_fields
from svyaz.followups.models import Followup, Priority

PK_PLACEHOLDER = "__pk__"
_SENTINEL = 987654321987
SLA_SOON_SECONDS = 5 * 60  # the timer turns amber in the last five minutes
DESCRIPTION_CHARS = 80


def url_pattern(name: str) -> Callable[[int | str], str]:
    """`pk → URL` for a route taking one int, at the cost of one reverse()."""
    prefix, _sep, suffix = reverse(name, args=[_SENTINEL]).partition(str(_SENTINEL))
    return lambda pk: f"{prefix}{pk}{suffix}"


def duration_text(minutes: int) -> str:
    """14 min · 2 h 5 min · 3 d 4 h — for the server-rendered SLA text."""
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": mins}
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h") % {"d": days, "h": hours}


def sla_text(deadline: datetime, now: datetime) -> tuple[str, bool]:
    """("14 min left", False) or ("Overdue by 3 min", True). Minutes round away from the
    deadline's side, so "0 min" never shows."""
    seconds = (deadline - now).total_seconds()
    if seconds > 0:
        return _("%(time)s left") % {"time": duration_text(math.ceil(seconds / 60))}, False
    return _("Overdue by %(time)s") % {"time": duration_text(max(1, int(-seconds // 60)))}, True


def sla_script_texts() -> dict[str, str]:
    """The timer's strings in the page language, `{time}`/`{n}` left for the script."""
    return {
        "left": _("%(time)s left") % {"time": "{time}"},
        "overdue": _("Overdue by %(time)s") % {"time": "{time}"},
        "days": _("%(d)s d") % {"d": "{n}"},
    }


class RowKit:
    """Per-request pieces of a My day row; `prepare(rows)` sets the row attributes the
    `followups/my_day.html#row` partial reads."""

    def __init__(self, request, *, day: date, tz: tzinfo, now: datetime, next_url: str):
        self.day = day
        self.tz = tz
        self.now = now
        self.now_iso = now.isoformat()
        self.edit_url = url_pattern("followups:followup_edit")
        self.deal_url = url_pattern("sales:deal_detail")
        self.contact_url = url_pattern("contacts:contact_detail")
        self.lead_url = url_pattern("sales:lead_detail")
        self.company_url = url_pattern("contacts:company_detail")
        self.priority_labels = {str(value): str(label) for value, label in Priority.choices}
        self._dates: dict[date, str] = {}
        complete_url = url_pattern("followups:followup_complete")(PK_PLACEHOLDER)
        self._action_form = render_to_string(
            "followups/my_day.html#action",
            {
                "complete_url": complete_url,
                "day": day,
                "next_url": next_url,
                # A field rule may make the result read-only for this user: checked once.
                "result_writable": "result" not in readonly_fields(request.user, "tasks"),
            },
            request=request,
        )
        self.labels = {
            "callback": _("Callback"),
            "overdue": _("Overdue"),
            "sla_title": _("First response deadline"),
            "open_lead": _("Open the lead"),
        }

    def _short_date(self, value: date) -> str:
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = formats.date_format(value, "SHORT_DATE_FORMAT")
        return text

    def prepare(self, rows: Iterable[Followup]) -> list[Followup]:
        rows = list(rows)
        for row in rows:
            pk = row.pk
            local = row.due_at.astimezone(self.tz)
            clock = f"{local:%H:%M}"
            short = self._short_date(local.date())
            row.due_text = clock if local.date() == self.day else f"{short} {clock}"
            row.due_title = f"{short} {clock}"
            row.edit_url = self.edit_url(pk)
            row.deal_url = self.deal_url(row.deal_id) if row.deal_id else ""
            row.contact_url = self.contact_url(row.contact_id) if row.contact_id else ""
            lead_id = getattr(row, "sla_lead_id", None)
            row.lead_url = self.lead_url(lead_id) if lead_id else ""
            row.company_url = self.company_url(row.company_id) if row.company_id else ""
            row.priority_label = self.priority_labels.get(row.priority, "")
            text = row.description
            row.summary = (
                text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"
            )
            row.action_form = mark_safe(self._action_form.replace(PK_PLACEHOLDER, str(pk)))  # noqa: S308 -- our own rendered form, the id is an int
            if not hasattr(row, "row_error"):
                row.row_error = ""
            deadline = getattr(row, "sla_due_at", None)
            if deadline is not None:
                row.sla_text, late = sla_text(deadline, self.now)
                seconds = (deadline - self.now).total_seconds()
                row.sla_state = "late" if late else ("soon" if seconds <= SLA_SOON_SECONDS else "")
                row.sla_deadline_iso = deadline.isoformat()
            else:
                row.sla_text = ""
        return rows

    def context(self) -> dict[str, Any]:
        return {"labels": self.labels, "server_now": self.now_iso}
