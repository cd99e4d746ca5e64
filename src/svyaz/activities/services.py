"""Every write of activities: calls, emails, meetings, notes, messages, visits."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.activities.models import Activity, ActivityKind, CallOutcome, Direction
from svyaz.activities.subjects import subjects_check
from svyaz.core.events import emit
from svyaz.core.models import TimelineKind
from svyaz.core.scoping import require
from svyaz.core.services import require_on
from svyaz.core.timeline import field_changes, snapshot, timeline_add

DIRECTED_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MESSAGE)
EDITABLE_FIELDS = ["direction", "subject", "body", "occurred_at", "duration_seconds", "outcome"]
# A callback promised without a time: tomorrow at this hour, in the manager's zone.
DEFAULT_CALLBACK_HOUR = 10


def activity_title(activity: Activity) -> str:
    """ "Outgoing call, 5 min — answered", "Incoming email: Invoice", "Meeting: Demo"."""
    phrases = {
        (ActivityKind.CALL, Direction.OUTBOUND): _("Outgoing call"),
        (ActivityKind.CALL, Direction.INBOUND): _("Incoming call"),
        (ActivityKind.EMAIL, Direction.OUTBOUND): _("Outgoing email"),
        (ActivityKind.EMAIL, Direction.INBOUND): _("Incoming email"),
        (ActivityKind.MESSAGE, Direction.OUTBOUND): _("Outgoing message"),
        (ActivityKind.MESSAGE, Direction.INBOUND): _("Incoming message"),
    }
    title = phrases.get((activity.kind, activity.direction)) or str(
        ActivityKind(activity.kind).label
    )
    seconds = activity.duration_seconds
    if seconds:
        if seconds < 60:
            title += ", " + _("%(n)d s") % {"n": seconds}
        else:
            title += ", " + _("%(n)d min") % {"n": round(seconds / 60)}
    if activity.outcome:
        title += " — " + str(CallOutcome(activity.outcome).label).lower()
    if activity.subject:
        title += ": " + activity.subject
    return title


def _validate(activity: Activity) -> None:
    errors: dict[str, list[str]] = {}
    if activity.kind not in ActivityKind.values:
        errors["kind"] = [_("Choose a type.")]
    directed = activity.kind in DIRECTED_KINDS
    if directed and activity.direction not in Direction.values:
        errors["direction"] = [_("Choose incoming or outgoing.")]
    elif not directed and activity.direction:
        errors["direction"] = [_("Only calls, emails and messages have a direction.")]
    if activity.duration_seconds is not None:
        try:
            if int(activity.duration_seconds) < 0:
                errors["duration_seconds"] = [_("The duration cannot be negative.")]
        except (TypeError, ValueError):
            errors["duration_seconds"] = [_("Enter a whole number.")]
    if activity.outcome:
        if activity.kind != ActivityKind.CALL:
            errors["outcome"] = [_("Only calls have an outcome.")]
        elif activity.outcome not in CallOutcome.values:
            errors["outcome"] = [_("Unknown outcome.")]
    if activity.occurred_at is None:
        errors["occurred_at"] = [_("Enter when it happened.")]
    elif timezone.is_naive(activity.occurred_at):
        errors["occurred_at"] = [_("Enter a date and time with a time zone.")]
    if errors:
        raise ValidationError(errors)
    activity.full_clean()


def default_callback_at(*, user, now: datetime | None = None) -> datetime:
    """Tomorrow at 10:00 in the user's time zone."""
    from svyaz.followups.selectors import user_timezone

    tz = user_timezone(user)
    tomorrow = timezone.localtime(now or timezone.now(), tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(DEFAULT_CALLBACK_HOUR), tzinfo=tz)


@transaction.atomic
def activity_log(
    *,
    actor,
    kind: str,
    contact=None,
    company=None,
    deal=None,
    direction: str = "",
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    duration_seconds: int | None = None,
    outcome: str = "",
    callback_at: datetime | None = None,
    callback_note: str = "",
) -> Activity:
    """Record what happened with a client, on its timeline. A callback time (or the
    outcome "asked to call back") also creates the callback task, in the same transaction."""
    require(actor, "activities", "create")  # the actor owns it: any create scope will do
    subjects = subjects_check(actor=actor, contact=contact, company=company, deal=deal)
    activity = Activity(
        kind=kind or "",
        direction=direction or "",
        subject=(subject or "").strip(),
        body=body or "",
        occurred_at=occurred_at or timezone.now(),
        duration_seconds=duration_seconds,
        outcome=outcome or "",
        owner=actor,
        department_id=actor.department_id,
        **subjects,
    )
    _validate(activity)
    wants_callback = callback_at is not None or activity.outcome == CallOutcome.CALLBACK
    if callback_at is not None and timezone.is_naive(callback_at):
        raise ValidationError({"callback_at": [_("Enter a date and time with a time zone.")]})
    if callback_at is not None and callback_at < activity.occurred_at:
        raise ValidationError(
            {"callback_at": [_("The callback cannot be before the conversation.")]}
        )
    activity.save()
    timeline_add(
        kind=TimelineKind.ACTIVITY,
        title=activity_title(activity),
        body=activity.body,
        actor=actor,
        obj=activity,
        occurred_at=activity.occurred_at,
        data={
            "kind": activity.kind,
            "direction": activity.direction,
            "outcome": activity.outcome,
            "duration_seconds": activity.duration_seconds,
        },
        **{k: v for k, v in subjects.items() if v is not None},
    )
    if wants_callback:
        from svyaz.activities.subjects import subject_name
        from svyaz.followups.models import FollowupKind
        from svyaz.followups.services import followup_create

        followup_create(
            actor=actor,
            kind=FollowupKind.CALLBACK,
            title=_("Call back: %(client)s") % {"client": subject_name(activity)},
            description=callback_note or "",
            due_at=callback_at or default_callback_at(user=actor),
            assignee=actor,
            source_activity=activity,
            **subjects,
        )
    emit("activity.created", pk=activity.pk, kind=activity.kind, owner_id=actor.pk)
    return activity


@transaction.atomic
def activity_update(*, actor, activity: Activity, data: dict[str, Any]) -> Activity:
    """Correct what was logged (the text, the duration, the outcome...). The type and the
    client stay: log a new activity instead."""
    require_on(actor, "edit", activity)
    before = snapshot(activity, EDITABLE_FIELDS)
    for name in EDITABLE_FIELDS:
        if name in data:
            value = data[name]
            if value is None and name in ("direction", "subject", "body", "outcome"):
                value = ""
            setattr(activity, name, value)
    if isinstance(activity.subject, str):
        activity.subject = activity.subject.strip()
    _validate(activity)
    changes = field_changes(activity, before, EDITABLE_FIELDS)
    if not changes:
        return activity
    activity.save()
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Activity changed: %(title)s") % {"title": activity_title(activity)},
        actor=actor,
        obj=activity,
        data={"changes": changes},
        **{
            k: getattr(activity, k)
            for k in ("contact", "company", "deal")
            if getattr(activity, f"{k}_id")
        },
    )
    emit("activity.updated", pk=activity.pk, fields=[c["field"] for c in changes])
    return activity
