"""The task list page (core/lists.py machinery)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from svyaz.activities.subjects import subject_link
from svyaz.core.lists import Column, ListSpec, register
from svyaz.followups import selectors, services
from svyaz.followups.filters import FollowupFilter


def _due(f) -> str:
    return formats.date_format(timezone.localtime(f.due_at), "SHORT_DATETIME_FORMAT")


class _DueColumn(Column):
    """Overdue tasks flagged on the page; plain time in the CSV export."""

    def cell(self, obj):
        if obj.is_overdue:
            return format_html(
                '<span class="overdue">{}</span> <span class="badge text-bg-danger">{}</span>',
                _due(obj),
                _("Overdue"),
            )
        return _due(obj)


class _ClientColumn(Column):
    def cell(self, obj):
        link = subject_link(obj)
        return format_html('<a href="{}">{}</a>', *link) if link else ""


def _client_text(obj) -> str:
    link = subject_link(obj)
    return link[1] if link else ""


def _reassign(user, targets, value) -> int:
    """Bulk "assign": the assignee changes (tasks have no other owner worth moving)."""
    assignee = (
        get_user_model().objects.filter(pk=value or 0, is_active=True).first()
        if str(value).isdigit()
        else None
    )
    if assignee is None:
        raise ValidationError(_("Choose an owner."))
    changed = 0
    for followup in targets:
        if followup.assignee_id != assignee.pk and followup.status == "open":
            services.followup_update(actor=user, followup=followup, data={"assignee": assignee})
            changed += 1
    return changed


followup_list_spec = register(
    ListSpec(
        entity="followup",
        title=gettext_lazy("Tasks"),
        queryset=lambda request: selectors.followup_list_rows(user=request.user),
        filterset_class=FollowupFilter,
        search=lambda qs, q: qs.filter(title__icontains=q),
        columns=[
            Column(
                "title",
                gettext_lazy("Title"),
                value=lambda f: f.title,
                sort="title",
                link=lambda f: reverse("followups:followup_edit", args=[f.pk]),
            ),
            Column("kind", gettext_lazy("Type"), value=lambda f: f.get_kind_display(), sort="kind"),
            _ClientColumn("client", gettext_lazy("Client"), value=_client_text),
            _DueColumn("due", gettext_lazy("Due"), value=_due, sort="due_at"),
            Column(
                "priority",
                gettext_lazy("Priority"),
                value=lambda f: f.get_priority_display(),
                sort="priority",
            ),
            Column(
                "assignee",
                gettext_lazy("Assignee"),
                value=lambda f: str(f.assignee),
                sort="assignee__last_name",
            ),
            Column(
                "status",
                gettext_lazy("Status"),
                value=lambda f: f.get_status_display(),
                sort="status",
            ),
            Column("result", gettext_lazy("Result"), value=lambda f: f.result[:80]),
        ],
        default_sort="due",
        create_url="followups:followup_create",
        bulk_actions=("assign_owner", "delete"),
        bulk_handlers={"assign_owner": _reassign},
    )
)
