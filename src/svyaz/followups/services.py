"""Every write of follow-ups (tasks, callbacks), reminders and notifications."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from svyaz.activities.subjects import subjects_check
from svyaz.core.events import emit
from svyaz.core.models import TimelineKind
from svyaz.core.scoping import require
from svyaz.core.services import require_on
from svyaz.core.timeline import field_changes, snapshot, timeline_add
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus, Notification, Priority
from svyaz.followups.selectors import user_timezone

log = logging.getLogger(__name__)

# A callback reminds a quarter of an hour early: time to open the card, read the last
# call's notes and be ready when the client expects the phone to ring.
CALLBACK_REMIND_BEFORE = timedelta(minutes=15)
# One run of the reminder job handles at most this many rows; the next run takes the rest.
REMINDER_BATCH = 500

EDITABLE_FIELDS = ["title", "description", "assignee", "due_at", "priority", "remind_at", "kind"]


def _subjects(obj) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in ("contact", "company", "deal") if getattr(obj, f"{k}_id")}


def _check_assignee(assignee) -> None:
    if assignee is None or not isinstance(assignee, get_user_model()) or not assignee.is_active:
        raise ValidationError({"assignee": [_("Choose an active user.")]})


def _validate(followup: Followup) -> None:
    errors: dict[str, list[str]] = {}
    if not (followup.title or "").strip():
        errors["title"] = [_("Enter a title.")]
    if followup.due_at is None:
        errors["due_at"] = [_("Enter the due date and time.")]
    elif timezone.is_naive(followup.due_at):
        errors["due_at"] = [_("Enter a date and time with a time zone.")]
    if followup.remind_at is not None and followup.due_at is not None and "due_at" not in errors:
        if timezone.is_naive(followup.remind_at):
            errors["remind_at"] = [_("Enter a date and time with a time zone.")]
        elif followup.remind_at > followup.due_at:
            errors["remind_at"] = [_("A reminder after the due time comes too late.")]
    if followup.kind not in FollowupKind.values:
        errors["kind"] = [_("Unknown type.")]
    if followup.priority not in Priority.values:
        errors["priority"] = [_("Unknown priority.")]
    if errors:
        raise ValidationError(errors)
    followup.title = followup.title.strip()
    followup.full_clean()


def _default_remind_at(kind: str, due_at: datetime | None) -> datetime | None:
    if due_at is None or timezone.is_naive(due_at):
        return None
    if kind == FollowupKind.CALLBACK:
        return due_at - CALLBACK_REMIND_BEFORE
    return due_at


def _notify_assigned(*, actor, followup: Followup) -> None:
    if followup.assignee_id == getattr(actor, "pk", None):
        return
    with translation.override(followup.assignee.language or settings.LANGUAGE_CODE):
        text = _("%(actor)s assigned you a task: %(title)s") % {
            "actor": actor,
            "title": followup.title,
        }
    # followup stays empty: the (user, followup) pair is reserved for the one reminder.
    Notification.objects.create(
        user=followup.assignee,
        text=text[:500],
        url=reverse("followups:followup_edit", args=[followup.pk]),
    )


@transaction.atomic
def followup_create(
    *,
    actor,
    title: str,
    due_at: datetime | None,
    assignee=None,
    kind: str = FollowupKind.TASK,
    priority: str = Priority.NORMAL,
    remind_at: datetime | None = None,
    description: str = "",
    contact=None,
    company=None,
    deal=None,
    source_activity=None,
) -> Followup:
    # The actor owns the task (whoever it is assigned to): any create scope will do.
    require(actor, "tasks", "create")
    assignee = assignee or actor
    _check_assignee(assignee)
    subjects = subjects_check(
        actor=actor,
        contact=contact,
        company=company,
        deal=deal,
        required=kind == FollowupKind.CALLBACK,
    )
    followup = Followup(
        kind=kind,
        title=title or "",
        description=description or "",
        assignee=assignee,
        due_at=due_at,
        priority=priority or Priority.NORMAL,
        remind_at=remind_at if remind_at is not None else _default_remind_at(kind, due_at),
        owner=actor,
        department_id=actor.department_id,
        source_activity=source_activity,
        **subjects,
    )
    _validate(followup)
    followup.save()
    label = _("Callback") if kind == FollowupKind.CALLBACK else _("Task")
    timeline_add(
        kind=TimelineKind.FOLLOWUP,
        title=_("%(label)s: %(title)s (due %(due)s, %(assignee)s)")
        % {
            "label": label,
            "title": followup.title,
            "assignee": assignee,
            "due": date_format(
                timezone.localtime(followup.due_at, user_timezone(assignee)),
                "SHORT_DATETIME_FORMAT",
            ),
        },
        body=followup.description,
        actor=actor,
        obj=followup,
        data={"status": followup.status, "kind": followup.kind},
        **_subjects(followup),
    )
    _notify_assigned(actor=actor, followup=followup)
    emit("followup.created", pk=followup.pk, assignee_id=assignee.pk, kind=kind)
    return followup


@transaction.atomic
def followup_update(*, actor, followup: Followup, data: dict[str, Any]) -> Followup:
    """Change title, description, assignee, due time, reminder, priority or type.

    Moving the due time or the reminder re-arms the reminder."""
    # The tasks "edit" grant; its assignee counts as an owner (scoping.EXTRA_OWNER_FIELDS).
    require_on(actor, "edit", followup)
    if followup.status != FollowupStatus.OPEN:
        raise ValidationError({"__all__": [_("A closed task cannot be changed.")]})
    before = snapshot(followup, EDITABLE_FIELDS)
    for name in EDITABLE_FIELDS:
        if name in data:
            setattr(followup, name, data[name])
    if "assignee" in data:
        _check_assignee(followup.assignee)
    if "due_at" in data and "remind_at" not in data and before["remind_at"] is not None:
        # Keep the same lead time before the new due time.
        lead = before["due_at"] - before["remind_at"] if before["due_at"] else timedelta(0)
        followup.remind_at = followup.due_at - lead if followup.due_at else None
    _validate(followup)
    changes = field_changes(followup, before, EDITABLE_FIELDS)
    if not changes:
        return followup
    if followup.remind_at != before["remind_at"]:
        followup.reminded_at = None
    followup.save()
    timeline_add(
        kind=TimelineKind.FOLLOWUP,
        title=_("Task changed: %(title)s") % {"title": followup.title},
        actor=actor,
        obj=followup,
        data={"changes": changes},
        **_subjects(followup),
    )
    if followup.assignee_id != before["assignee"].pk:
        _notify_assigned(actor=actor, followup=followup)
    emit("followup.updated", pk=followup.pk, fields=[c["field"] for c in changes])
    return followup


@transaction.atomic
def followup_complete(*, actor, followup: Followup, result: str = "") -> Followup:
    """Mark the task done with an optional result. Completing it again changes nothing."""
    require_on(actor, "edit", followup)
    # Lock and re-read: two clicks on "Done" must not write two timeline rows.
    followup = (
        Followup.objects.select_for_update(of=("self",))
        .select_related("contact", "company", "deal")
        .get(pk=followup.pk)
    )
    if followup.status == FollowupStatus.DONE:
        return followup
    if followup.status == FollowupStatus.CANCELLED:
        raise ValidationError({"__all__": [_("This task was cancelled.")]})
    result = (result or "").strip()
    if len(result) > 5000:
        raise ValidationError({"result": [_("The result is too long (5,000 characters at most).")]})
    followup.status = FollowupStatus.DONE
    followup.completed_at = timezone.now()
    followup.result = result
    followup.save(update_fields=["status", "completed_at", "result", "updated_at"])
    timeline_add(
        kind=TimelineKind.FOLLOWUP,
        title=_("Done: %(title)s") % {"title": followup.title},
        body=result,
        actor=actor,
        obj=followup,
        data={"status": followup.status, "kind": followup.kind},
        **_subjects(followup),
    )
    emit("followup.completed", pk=followup.pk, actor_id=getattr(actor, "pk", None))
    return followup


@transaction.atomic
def followup_cancel(*, actor, followup: Followup, reason: str = "") -> Followup:
    require_on(actor, "edit", followup)
    followup = (
        Followup.objects.select_for_update(of=("self",))
        .select_related("contact", "company", "deal")
        .get(pk=followup.pk)
    )
    if followup.status == FollowupStatus.CANCELLED:
        return followup
    if followup.status == FollowupStatus.DONE:
        raise ValidationError({"__all__": [_("This task is already done.")]})
    followup.status = FollowupStatus.CANCELLED
    followup.result = (reason or "").strip()[:5000]
    followup.save(update_fields=["status", "result", "updated_at"])
    timeline_add(
        kind=TimelineKind.FOLLOWUP,
        title=_("Cancelled: %(title)s") % {"title": followup.title},
        body=followup.result,
        actor=actor,
        obj=followup,
        data={"status": followup.status, "kind": followup.kind},
        **_subjects(followup),
    )
    emit("followup.cancelled", pk=followup.pk, actor_id=getattr(actor, "pk", None))
    return followup


# --- reminders and notifications -------------------------------------------------------


def _reminder_text(followup: Followup) -> tuple[str, str, str]:
    """(notification text, email subject, email body) in the assignee's language and zone."""
    user = followup.assignee
    with translation.override(user.language or settings.LANGUAGE_CODE):
        due = date_format(
            timezone.localtime(followup.due_at, user_timezone(user)), "SHORT_DATETIME_FORMAT"
        )
        client = ""
        for attr in ("contact", "company", "deal"):
            if getattr(followup, f"{attr}_id"):
                client = str(getattr(followup, attr))
                break
        if followup.kind == FollowupKind.CALLBACK:
            text = _("Call back %(client)s at %(due)s: %(title)s") % {
                "client": client,
                "due": due,
                "title": followup.title,
            }
        else:
            text = _("Reminder: %(title)s, due %(due)s") % {"title": followup.title, "due": due}
        subject = _("Svyaz reminder: %(title)s") % {"title": followup.title}
        lines = [text]
        if client:
            lines.append(_("Client: %(client)s") % {"client": client})
        if followup.description:
            lines += ["", followup.description]
        # The site's address is not a setting yet (infra): fall back to the embedded one.
        site = getattr(settings, "SVYAZ_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        lines += [
            "",
            _("Open: %(url)s")
            % {"url": site + reverse("followups:followup_edit", args=[followup.pk])},
        ]
    return text[:500], subject[:200], "\n".join(lines)


def reminders_send_due(now: datetime | None = None) -> int:
    """Send every reminder whose time has come: an in-app notification and an email.

    Idempotent and safe to run in several processes at once: each row is claimed by an
    atomic `UPDATE ... SET reminded_at WHERE reminded_at IS NULL`; only the process whose
    update changed the row notifies. The email goes after the claim commits, so a mail
    server that is down loses one email, never floods the user with repeats.
    Returns the number of reminders sent."""
    now = now or timezone.now()
    due_ids = list(
        Followup.objects.filter(
            status=FollowupStatus.OPEN,
            remind_at__isnull=False,
            remind_at__lte=now,
            reminded_at__isnull=True,
        )
        .order_by("remind_at", "pk")
        .values_list("pk", flat=True)[:REMINDER_BATCH]
    )
    sent = 0
    for pk in due_ids:
        with transaction.atomic():
            claimed = Followup.objects.filter(
                pk=pk, status=FollowupStatus.OPEN, reminded_at__isnull=True
            ).update(reminded_at=now)
            if not claimed:
                continue
            followup = Followup.objects.select_related(
                "assignee", "contact", "company", "deal"
            ).get(pk=pk)
            text, subject, body = _reminder_text(followup)
            Notification.objects.update_or_create(
                user=followup.assignee,
                followup=followup,
                defaults={
                    "text": text,
                    "url": reverse("followups:followup_edit", args=[pk]),
                    "created_at": now,
                    "read_at": None,
                },
            )
        sent += 1
        if followup.assignee.email:
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [followup.assignee.email])
            except Exception:  # the in-app notification is there; log and go on
                log.exception("reminder email for followup %s failed", pk)
    return sent


@transaction.atomic
def notification_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
