"""Call events: store once, then put the call on the client's timeline or into a lead."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.activities.models import ActivityKind, CallOutcome
from svyaz.activities.services import activity_log
from svyaz.core.phones import format_phone, normalize_phone
from svyaz.core.scoping import can_see
from svyaz.intake.models import CallEvent, CallStatus, TelephonyProvider
from svyaz.intake.services import find_existing_contact, intake_lead_create
from svyaz.intake.telephony.base import NormalizedCall
from svyaz.sales.models import Channel

log = logging.getLogger(__name__)


def call_event_store(
    *, provider: TelephonyProvider, call: NormalizedCall
) -> tuple[CallEvent, bool]:
    """Store the event; (event, False) when this provider already sent this event id."""
    try:
        with transaction.atomic():
            event = CallEvent.objects.create(
                provider=provider,
                event_id=call.event_id,
                direction=call.direction,
                status=call.status,
                caller=call.caller,
                callee=call.callee,
                started_at=call.started_at,
                duration_seconds=call.duration_seconds,
                recording_url=call.recording_url,
                raw=call.raw,
            )
    except IntegrityError:
        return CallEvent.objects.get(provider=provider, event_id=call.event_id), False
    return event, True


def _client_number(event: CallEvent) -> str:
    raw = event.caller if event.direction == "in" else event.callee
    try:
        return normalize_phone(raw)
    except ValidationError:
        return ""


def call_event_process(event_id: int) -> None:
    """The effect of one call, once: the row is locked and marked processed in the same
    transaction as the effect. A failure leaves it unprocessed with the error noted."""
    try:
        with transaction.atomic():
            event = (
                CallEvent.objects.select_for_update().select_related("provider").get(pk=event_id)
            )
            if event.processed_at is not None:
                return
            _apply(event)
            event.processed_at = timezone.now()
            event.error = ""
            event.save(update_fields=["processed_at", "error", "contact", "lead", "activity"])
    except Exception as exc:
        log.exception("call event %s failed", event_id)
        CallEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            error=f"{type(exc).__name__}: {exc}"[:5000]
        )
        raise


def _apply(event: CallEvent) -> None:
    from svyaz.intake.regions import region_from_phone
    from svyaz.intake.routing import route_assign

    number = _client_number(event)
    contact = find_existing_contact(phone=number) if number else None
    missed = event.status == CallStatus.MISSED
    inbound = event.direction == "in"
    if contact is not None:
        manager = contact.owner if contact.owner_id and contact.owner.is_active else None
        if manager is None or not can_see(manager, contact):
            manager = route_assign(
                channel=Channel.PHONE,
                source="call",
                group=event.provider.routing_group,
                region=region_from_phone(number),
            )
        ended = event.started_at + timedelta(seconds=event.duration_seconds)
        event.contact = contact
        event.activity = activity_log(
            actor=manager,
            kind=ActivityKind.CALL,
            contact=contact,
            direction=event.direction,
            occurred_at=event.started_at,
            duration_seconds=event.duration_seconds,
            outcome=CallOutcome.MISSED if missed else CallOutcome.ANSWERED,
            body=(_("Recording: %(url)s") % {"url": event.recording_url})
            if event.recording_url
            else "",
            # A missed incoming call: call back as soon as possible.
            callback_at=max(ended, timezone.now()) if missed and inbound else None,
            callback_note=_("Missed call from %(n)s") % {"n": format_phone(number)}
            if missed and inbound
            else "",
        )
        return
    if not inbound or not number:
        # An outgoing call to an unknown number, or a hidden caller id: stored, no effect.
        return
    shown = format_phone(number)
    event.lead = intake_lead_create(
        channel=Channel.PHONE,
        source="call",
        received_at=event.started_at,
        title=(_("Missed call from %(n)s") if missed else _("Call from %(n)s")) % {"n": shown},
        fields={"phone": number},
        routing_group=event.provider.routing_group,
        followup_title=(_("Call back: %(n)s") % {"n": shown})
        if missed
        else _("First response: %(n)s") % {"n": shown},
    )


def call_events_retry(limit: int = 100) -> int:
    """Process stored call events that have no effect yet (queue down, a failure)."""
    done = 0
    ids = CallEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    for pk in list(ids[:limit]):
        try:
            call_event_process(pk)
            done += 1
        except Exception:  # noqa: BLE001, S112 - noted on the row; the next one still runs
            continue
    return done
