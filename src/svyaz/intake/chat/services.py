"""Every write of conversations and messages: store first, publish, then process.

Storing (`chat_start`, `visitor_message_add`, `inbound_message_receive`, `operator_reply`)
never depends on routing, leads or the timeline: a message that arrived is kept even when
everything after it fails. `message_process` then does the effects once (the message row is
locked and marked processed in the same transaction as the effects) and the retry job
picks up what failed.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.activities.models import Activity, ActivityKind
from svyaz.activities.services import activity_log
from svyaz.core.errors import PermissionDenied
from svyaz.core.models import TimelineKind
from svyaz.core.phones import format_phone, normalize_phone
from svyaz.core.scoping import can_see, require
from svyaz.core.timeline import timeline_add
from svyaz.intake.chat import realtime
from svyaz.intake.models import (
    ChatWidget,
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    MessageSource,
)
from svyaz.intake.regions import normalize_language, region_from_phone
from svyaz.intake.routing import route_assign
from svyaz.intake.services import find_existing_contact, intake_lead_create
from svyaz.sales.models import Channel

log = logging.getLogger(__name__)

MAX_TEXT = 4000
# A visitor starts a handful of chats; more from one address in the window is a flood.
START_LIMIT = 5
START_WINDOW_SECONDS = 600
# Messages per conversation per minute (a person types far fewer).
MESSAGE_LIMIT = 30
MESSAGE_WINDOW_SECONDS = 60


class Flooded(Exception):  # noqa: N818 - a refusal, not a bug
    """Too many requests: answer 429."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _over_limit(key: str, limit: int, window: int) -> bool:
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    return count > limit


def clean_text(text) -> str:
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write a message.")]})
    if len(text) > MAX_TEXT:
        raise ValidationError(
            {"text": [_("The message is too long (%(n)d characters at most).") % {"n": MAX_TEXT}]}
        )
    return text


def clean_visitor(*, name: str = "", email: str = "", phone: str = "") -> dict[str, str]:
    """The contact details a visitor or a sender gave, normalized; field errors otherwise."""
    errors: dict[str, list[str]] = {}
    name = " ".join(str(name or "").split())[:200]
    email = str(email or "").strip().lower()
    phone = str(phone or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "phone": phone}


# --- storing ---------------------------------------------------------------------------


def _message_add(
    conversation: Conversation,
    *,
    direction: str,
    body: str,
    author=None,
    event_key: str | None = None,
    sent_at: datetime | None = None,
    raw: dict | None = None,
) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        direction=direction,
        body=body,
        author=author,
        event_key=event_key,
        sent_at=sent_at or now,
        received_at=now,
        raw=raw or {},
    )
    # Bookkeeping by update(): no audit rows, no race on a stale instance. A new message
    # from the client reopens a closed conversation.
    changes = {"last_message_at": now, "last_direction": direction}
    if direction == MessageDirection.IN:
        changes.update(status=ConversationStatus.OPEN, closed_at=None)
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for name, value in changes.items():
        setattr(conversation, name, value)
    realtime.publish_message(message)
    transaction.on_commit(lambda: schedule_processing(message.pk))
    return message


def schedule_processing(message_id: int) -> None:
    """Hand the message to the job queue (in-process when embedded). Never raises: the
    message is stored and the retry job processes what is left."""
    from svyaz.core.outbox import enqueue
    from svyaz.intake.chat.tasks import message_process

    try:
        enqueue(message_process, message_id)
    except Exception:  # noqa: BLE001 - noted on the row; messages_retry runs it again
        log.exception("chat message %s stored, processing deferred", message_id)


@transaction.atomic
def chat_start(
    *,
    widget: ChatWidget,
    text: str,
    name: str = "",
    email: str = "",
    phone: str = "",
    landing_page: str = "",
    referrer: str = "",
    ip: str | None = None,
    user_agent: str = "",
    language: str = "",
) -> tuple[Conversation, str, Message]:
    """A visitor's first message: a conversation, its secret token (kept by the browser,
    only its hash here) and the message. `language`: the browser's (routing reads it)."""
    if _over_limit(f"chat:start:{widget.pk}:{ip or 'unknown'}", START_LIMIT, START_WINDOW_SECONDS):
        raise Flooded
    errors: dict[str, list[str]] = {}
    try:
        text = clean_text(text)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        visitor = clean_visitor(name=name, email=email, phone=phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(24)
    conversation = Conversation.objects.create(
        channel=Channel.CHAT,
        widget=widget,
        visitor_key=token_hash(token),
        landing_page=str(landing_page or "")[:1000],
        referrer=str(referrer or "")[:1000],
        ip=ip,
        user_agent=str(user_agent or "")[:500],
        language=normalize_language(language),
        **visitor,
    )
    message = _message_add(conversation, direction=MessageDirection.IN, body=text)
    return conversation, token, message


def visitor_conversation(*, widget: ChatWidget, token: str) -> Conversation | None:
    if not token or len(token) > 200:
        return None
    return Conversation.objects.filter(widget=widget, visitor_key=token_hash(token)).first()


@transaction.atomic
def visitor_message_add(*, conversation: Conversation, text: str) -> Message:
    text = clean_text(text)
    if _over_limit(f"chat:msg:{conversation.pk}", MESSAGE_LIMIT, MESSAGE_WINDOW_SECONDS):
        raise Flooded
    return _message_add(conversation, direction=MessageDirection.IN, body=text)


@dataclass
class InboundMessage:
    """One message from a messenger, as the API validated it."""

    event_id: str
    sender_id: str
    text: str
    name: str = ""
    phone: str = ""
    email: str = ""
    sent_at: datetime | None = None
    language: str = ""


def _conversation_for_sender(source: MessageSource, data: InboundMessage) -> Conversation:
    """The one conversation of this sender on this source (created once, even when two
    messages race)."""
    details = {
        "name": data.name,
        "phone": data.phone,
        "email": data.email,
        "language": normalize_language(data.language),
    }
    conversation = Conversation.objects.filter(source=source, external_id=data.sender_id).first()
    if conversation is None:
        try:
            with transaction.atomic():
                return Conversation.objects.create(
                    channel=source.channel, source=source, external_id=data.sender_id, **details
                )
        except IntegrityError:
            conversation = Conversation.objects.get(source=source, external_id=data.sender_id)
    # Details the sender gave later fill the blanks (a phone shared after the first message).
    missing = {k: v for k, v in details.items() if v and not getattr(conversation, k)}
    if missing:
        Conversation.objects.filter(pk=conversation.pk).update(**missing)
        for k, v in missing.items():
            setattr(conversation, k, v)
    return conversation


def inbound_message_receive(*, source: MessageSource, data: InboundMessage) -> tuple[Message, bool]:
    """Store a messenger's message; (message, False) when this event id came before."""
    event_key = f"{source.pk}:{data.event_id}"
    existing = Message.objects.filter(event_key=event_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = _conversation_for_sender(source, data)
            message = _message_add(
                conversation,
                direction=MessageDirection.IN,
                body=data.text,
                event_key=event_key,
                sent_at=data.sent_at,
                raw={"event_id": data.event_id, "sender": data.sender_id},
            )
    except IntegrityError:  # the same event id in a concurrent request
        return Message.objects.get(event_key=event_key), False
    return message, True


@transaction.atomic
def operator_reply(*, actor, conversation: Conversation, text: str) -> Message:
    """An operator's answer: stored, pushed to the visitor, then on the timeline."""
    require(actor, "activities", "create")
    text = clean_text(text)
    if conversation.owner_id is None:
        # Nobody was routed yet (processing pending): whoever answers takes it.
        Conversation.objects.filter(pk=conversation.pk, owner__isnull=True).update(
            owner=actor, department_id=actor.department_id
        )
        conversation.owner, conversation.department_id = actor, actor.department_id
    return _message_add(conversation, direction=MessageDirection.OUT, body=text, author=actor)


@transaction.atomic
def conversation_close(*, actor, conversation: Conversation) -> Conversation:
    require(actor, "activities", "edit", conversation)
    if conversation.status == ConversationStatus.CLOSED:
        return conversation
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        status=conversation.status, closed_at=conversation.closed_at
    )
    realtime.publish_status(conversation)
    return conversation


# --- processing ------------------------------------------------------------------------


def channel_name(conversation: Conversation) -> str:
    """ "Website chat", "Telegram"…: how the timeline names where a message came from."""
    if conversation.source_id:
        return conversation.source.network
    if conversation.widget_id:
        return _("Website chat")
    return str(Channel(conversation.channel).label)


def _lead_source(conversation: Conversation) -> str:
    if conversation.widget_id:
        return "website"
    return "social" if conversation.channel == Channel.SOCIAL else "other"


def _client_title(conversation: Conversation) -> str:
    who = conversation.name or (format_phone(conversation.phone) if conversation.phone else "")
    who = who or conversation.email or _("visitor")
    return f"{channel_name(conversation)}: {who}"


def _routing_group(conversation: Conversation):
    if conversation.widget_id:
        return conversation.widget.routing_group
    if conversation.source_id:
        return conversation.source.routing_group
    return None


def _set_owner(conversation: Conversation, user) -> None:
    conversation.owner = user
    conversation.department_id = user.department_id if user is not None else None


def _link_client(conversation: Conversation, message: Message) -> bool:
    """Give the conversation its client (an existing contact by phone/email, else a new
    lead through the intake path: routing, SLA, duplicate check) and its operator.
    True when something changed."""
    if conversation.contact_id is None and conversation.lead_id and conversation.lead.contact_id:
        # The lead was converted since: later messages go to the contact's timeline.
        conversation.contact_id = conversation.lead.contact_id
        return True
    if conversation.contact_id or conversation.lead_id:
        return False
    if message.direction != MessageDirection.IN:
        return False
    existing = find_existing_contact(phone=conversation.phone, email=conversation.email)
    if existing is not None:
        owner = existing.owner if existing.owner_id and existing.owner.is_active else None
        if owner is None or not can_see(owner, existing):
            owner = route_assign(
                channel=conversation.channel,
                source=_lead_source(conversation),
                group=_routing_group(conversation),
                region=region_from_phone(conversation.phone),
                language=conversation.language,
            )
        conversation.contact = existing
        _set_owner(conversation, owner)
        timeline_add(
            kind=TimelineKind.ACTIVITY,
            title=_("Conversation started: %(channel)s") % {"channel": channel_name(conversation)},
            actor=owner,
            obj=conversation,
            contact=existing,
            occurred_at=message.sent_at,
        )
        return True
    first_name = conversation.name[:100]
    fields = {"description": message.body}
    if first_name:
        fields["first_name"] = first_name
    if conversation.phone:
        fields["phone"] = conversation.phone
    if conversation.email:
        fields["email"] = conversation.email
    lead = intake_lead_create(
        channel=conversation.channel,
        source=_lead_source(conversation),
        received_at=message.received_at,
        title=_client_title(conversation)[:255],
        fields=fields,
        referrer=conversation.referrer,
        landing_page=conversation.landing_page,
        routing_group=_routing_group(conversation),
        followup_title=_("Answer the chat: %(who)s") % {"who": _client_title(conversation)},
        language=conversation.language,  # the region: from the phone, when one was given
    )
    conversation.lead = lead
    conversation.contact_id = lead.contact_id  # intake links an existing contact itself
    _set_owner(conversation, lead.owner)
    return True


def _activity_actor(conversation: Conversation, message: Message):
    """Who logs the message: its operator for answers, else the conversation's owner —
    whoever of them can see the contact (activity_log checks it)."""
    for user in (message.author, conversation.owner, conversation.contact.owner):
        if user is not None and user.is_active and can_see(user, conversation.contact):
            return user
    return conversation.owner


def _log_on_timeline(conversation: Conversation, message: Message) -> None:
    """Every processed message of the conversation that has no activity yet (earlier ones
    too, when the client became known only now) goes onto the contact's timeline."""
    pending = (
        Message.objects.filter(conversation=conversation, activity__isnull=True)
        .filter(Q(processed_at__isnull=False) | Q(pk=message.pk))
        .select_related("author")
        .order_by("id")
    )
    network = channel_name(conversation)
    for item in pending:
        activity = activity_log(
            actor=_activity_actor(conversation, item),
            kind=ActivityKind.MESSAGE,
            contact=conversation.contact,
            direction=item.direction,
            subject=network,
            body=item.body,
            occurred_at=item.sent_at,
        )
        Activity.objects.filter(pk=activity.pk).update(channel=conversation.channel)
        Message.objects.filter(pk=item.pk).update(activity=activity)
        if item.pk == message.pk:
            message.activity = activity


def _first_response_done(conversation: Conversation, message: Message) -> None:
    """An operator's first answer completes the lead's "First response" task (the SLA)."""
    from svyaz.followups.models import FollowupStatus
    from svyaz.followups.services import followup_complete
    from svyaz.intake.models import LeadIntake

    if message.direction != MessageDirection.OUT or not conversation.lead_id:
        return
    intake = (
        LeadIntake.objects.filter(lead_id=conversation.lead_id)
        .select_related("first_response")
        .first()
    )
    task = intake.first_response if intake is not None else None
    if task is None or task.status != FollowupStatus.OPEN:
        return
    result = _("Answered in the chat.")
    for actor in (message.author, task.assignee):
        if actor is None:
            continue
        try:
            followup_complete(actor=actor, followup=task, result=result)
            return
        except PermissionDenied:
            continue


def message_process(message_id: int) -> None:
    """The effects of one message, once. A failure leaves it unprocessed with the error
    noted (the retry job tries again)."""
    try:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message_id)
            if message.processed_at is not None:
                return
            # Lock the conversation: two first messages must not make two leads.
            conversation = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("widget", "source", "lead", "contact__owner", "owner")
                .get(pk=message.conversation_id)
            )
            if _link_client(conversation, message):
                conversation.save(update_fields=["contact", "lead", "owner", "department"])
                realtime.publish_changed(conversation)
            if conversation.contact_id:
                _log_on_timeline(conversation, message)
            _first_response_done(conversation, message)
            message.processed_at = timezone.now()
            message.error = ""
            message.save(update_fields=["processed_at", "error"])
            if (
                message.direction == MessageDirection.OUT
                and conversation.source_id
                and conversation.source.reply_url
            ):
                transaction.on_commit(lambda: schedule_delivery(message.pk))
    except Exception as exc:
        log.exception("chat message %s failed", message_id)
        Message.objects.filter(pk=message_id, processed_at__isnull=True).update(
            error=f"{type(exc).__name__}: {exc}"[:5000]
        )
        raise


def messages_retry(limit: int = 100) -> int:
    """Process stored messages left without effect (queue down, a failure) and deliver
    answers a messenger has not taken yet; returns how many were handled."""
    done = 0
    # A minute's grace: a message stored a moment ago is being processed right now.
    before = timezone.now() - timedelta(minutes=1)
    ids = Message.objects.filter(processed_at__isnull=True, received_at__lt=before)
    for pk in list(ids.order_by("id").values_list("pk", flat=True)[:limit]):
        try:
            message_process(pk)
            done += 1
        except Exception:  # noqa: BLE001, S112 - noted on the row; the next one still runs
            continue
    undelivered = Message.objects.filter(
        direction=MessageDirection.OUT,
        processed_at__isnull=False,
        delivered_at__isnull=True,
        received_at__lt=before,
        conversation__source__isnull=False,
    ).exclude(conversation__source__reply_url="")
    for pk in list(undelivered.order_by("id").values_list("pk", flat=True)[:limit]):
        if message_deliver(pk):
            done += 1
    return done


# --- answers to messengers -------------------------------------------------------------

DELIVERY_TIMEOUT_SECONDS = 10


def schedule_delivery(message_id: int) -> None:
    from svyaz.core.outbox import enqueue
    from svyaz.intake.chat.tasks import message_deliver as deliver_task

    try:
        enqueue(deliver_task, message_id)
    except Exception:  # noqa: BLE001 - the retry job delivers it later
        log.exception("chat answer %s stored, delivery deferred", message_id)


def message_deliver(message_id: int) -> bool:
    """POST an operator's answer to the source's reply URL, signed like incoming events:
    {"event_id": "svyaz-<id>", "sender_id": …, "text": …, "sent_at": …}. The receiver
    de-duplicates by event_id, so a delivery repeated after a lost answer is harmless.
    True when delivered (now or before)."""
    import json
    import time
    import urllib.request

    from svyaz.intake.telephony.generic import sign

    message = (
        Message.objects.select_related("conversation__source", "author")
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.delivered_at is not None:
        return message is not None
    source = message.conversation.source
    if source is None or not source.reply_url or message.direction != MessageDirection.OUT:
        return False
    body = json.dumps(
        {
            "event_id": f"svyaz-{message.pk}",
            "sender_id": message.conversation.external_id,
            "text": message.body,
            "sent_at": message.sent_at.isoformat(),
        },
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL set by an administrator
        source.reply_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Svyaz-Source": source.name,
            "X-Svyaz-Timestamp": timestamp,
            "X-Svyaz-Signature": "sha256=" + sign(source.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:  # noqa: S310
            ok = 200 <= response.status < 300
    except Exception as exc:  # noqa: BLE001 - the receiver is down: the retry job tries again
        Message.objects.filter(pk=message.pk).update(error=f"delivery: {exc}"[:5000])
        return False
    if ok:
        Message.objects.filter(pk=message.pk).update(delivered_at=timezone.now(), error="")
    return ok
