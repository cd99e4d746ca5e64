"""The activity list page (core/lists.py machinery)."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from svyaz.activities import selectors
from svyaz.activities.filters import ActivityFilter
from svyaz.activities.subjects import subject_link
from svyaz.core.lists import Column, ListSpec, register


def _when(a) -> str:
    return formats.date_format(timezone.localtime(a.occurred_at), "SHORT_DATETIME_FORMAT")


def _client(obj):
    link = subject_link(obj)
    return format_html('<a href="{}">{}</a>', *link) if link else ""


def _client_text(obj) -> str:
    link = subject_link(obj)
    return link[1] if link else ""


class _ClientColumn(Column):
    """The link on the page, the plain name in the CSV export."""

    def cell(self, obj):
        return _client(obj)


def _duration(a) -> str:
    if a.duration_seconds is None:
        return ""
    return f"{a.duration_seconds // 60}:{a.duration_seconds % 60:02d}"


activity_list_spec = register(
    ListSpec(
        entity="activity",
        title=_("Activities"),
        queryset=lambda request: selectors.activity_list_rows(user=request.user),
        filterset_class=ActivityFilter,
        search=selectors.activity_search,
        columns=[
            Column("when", _("When"), value=_when, sort="occurred_at"),
            Column("kind", _("Type"), value=lambda a: a.get_kind_display(), sort="kind"),
            Column("direction", _("Direction"), value=lambda a: a.get_direction_display()),
            # Falls back to the text: a field rule hiding the text drops the column.
            Column(
                "subject",
                _("Subject"),
                value=lambda a: a.subject or (a.body or "")[:80],
                field=("subject", "body"),
            ),
            _ClientColumn("client", _("Client"), value=_client_text),
            Column("duration", _("Duration"), value=_duration, sort="duration_seconds"),
            Column("outcome", _("Outcome"), value=lambda a: a.get_outcome_display()),
            Column(
                "owner",
                _("Owner"),
                value=lambda a: str(a.owner) if a.owner else "",
                sort="owner__last_name",
            ),
        ],
        default_sort="-when",
        create_url="activities:activity_create",
        bulk_actions=("delete",),
    )
)
