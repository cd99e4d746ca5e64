"""One raw message → an EmailMessage on the client's timeline, a lead, or the quarantine.

`message_import` runs inside the poller's per-message transaction (the one that also moves
the UID mark), so its effects and the mark commit together. A message the parser refuses,
or whose effects fail with anything but a database error, goes to the quarantine in that
same transaction: the mailbox moves on and nothing is lost."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.activities.models import ActivityKind
from svyaz.activities.services import activity_log
from svyaz.core.events import emit
from svyaz.core.scoping import can_see
from svyaz.intake.mail.parser import MalformedMail, ParsedMail, headers_preview, mail_parse
from svyaz.intake.mail.services import email_timeline_link
from svyaz.intake.mail.threads import thread_resolve
from svyaz.intake.models import (
    EmailAttachment,
    EmailMessage,
    Mailbox,
    MailDirection,
    MailQuarantine,
    QuarantineReason,
)
from svyaz.sales.models import Channel, Lead, LeadStatus

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# The timeline shows the start of a letter; the whole text is on the email's own page.
ACTIVITY_BODY_LIMIT = 10_000


def max_message_bytes() -> int:
    return int(getattr(settings, "SVYAZ_MAIL_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES))


def max_attachment_bytes() -> int:
    return int(getattr(settings, "SVYAZ_MAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))


@dataclass
class ImportResult:
    status: str  # "imported" | "duplicate" | "quarantined"
    message: EmailMessage | None = None
    quarantine: MailQuarantine | None = None


def quarantine_add(
    *,
    mailbox: Mailbox,
    reason: str,
    error: str,
    raw: bytes | None = None,
    headers: bytes | None = None,
    size: int = 0,
    uid: int | None = None,
    uidvalidity: int | None = None,
) -> MailQuarantine:
    """Keep what could not be imported. `raw` is stored whole (malformed, failed); for an
    oversized message only its `headers` are, the message stays on the server."""
    sample = raw if raw is not None else (headers or b"")
    from_header, subject = headers_preview(sample)
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else ""
    entry = MailQuarantine(
        mailbox=mailbox,
        imap_uid=uid,
        imap_uidvalidity=uidvalidity,
        reason=reason,
        error=error[:5000],
        size=size or len(sample),
        from_header=from_header,
        subject=subject,
        digest=digest,
    )
    if sample:
        name = f"{digest or hashlib.sha256(sample).hexdigest()}.eml"
        entry.raw.save(name, ContentFile(sample), save=False)
    entry.save()
    log.warning("mailbox %s: message uid=%s quarantined (%s): %s", mailbox.pk, uid, reason, error)
    return entry


def _actor_for(contact, mailbox: Mailbox):
    """Who the email activity belongs to: the client's manager, else the mailbox's
    responsible, else whoever routing picks — the first of them who may see the client."""
    from svyaz.intake.routing import route_assign

    for user in (contact.owner if contact.owner_id else None, mailbox.owner):
        if user is not None and user.is_active and can_see(user, contact):
            return user
    routed = route_assign(channel=Channel.EMAIL, source="email", group=mailbox.routing_group)
    if can_see(routed, contact):
        return routed
    return get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk").first()


def _match(parsed: ParsedMail, parent: EmailMessage | None, addresses: list[str]):
    """(contact, lead, deal) for a message: the thread's client first, then the address."""
    from svyaz.intake.services import find_existing_contact

    if parent is not None:
        contact = parent.contact if parent.contact_id else None
        lead = parent.lead if parent.lead_id else None
        if contact is not None and contact.deleted_at is not None:
            contact = None
        if contact is None and lead is not None and lead.contact_id:
            contact = lead.contact  # the lead became a client since
        if contact is not None or lead is not None:
            return contact, lead, parent.deal if parent.deal_id else None
    for address in addresses:
        contact = find_existing_contact(email=address)
        if contact is not None:
            return contact, None, None
    for address in addresses:
        # An unknown sender who writes again before anyone answered: the same open lead,
        # not a second one (also what keeps a flood from one address to one lead).
        lead = (
            Lead.objects.filter(
                email__iexact=address, status__in=[LeadStatus.NEW, LeadStatus.IN_PROGRESS]
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if lead is not None:
            return (lead.contact if lead.contact_id else None), lead, None
    return None, None, None


def _lead_fields(parsed: ParsedMail) -> dict[str, str]:
    first, _sep, last = parsed.from_name.partition(" ")
    fields = {"email": parsed.from_address, "description": parsed.text[:5000]}
    if first:
        fields["first_name"] = first[:100]
    if last:
        fields["last_name"] = last[:100]
    return fields


def _store_attachments(message: EmailMessage, parsed: ParsedMail) -> None:
    limit = max_attachment_bytes()
    for part in parsed.attachments:
        attachment = EmailAttachment(
            message=message,
            filename=part.filename[:255],
            content_type=part.content_type[:255],
            size=part.size,
        )
        if part.size <= limit:
            attachment.file.save(part.filename[:150], ContentFile(part.data), save=False)
        attachment.save()


def _apply(*, mailbox: Mailbox, parsed: ParsedMail, uid, uidvalidity) -> EmailMessage:
    thread_key, parent = thread_resolve(
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
    )
    ours = parsed.from_address == mailbox.from_address.lower()
    direction = MailDirection.OUT if ours else MailDirection.IN
    addresses = [*parsed.to, *parsed.cc] if ours else [parsed.from_address]
    contact, lead, deal = _match(parsed, parent, addresses)
    now = timezone.now()
    sent_at = parsed.date if parsed.date is not None else now
    if sent_at > now + timedelta(minutes=5):
        sent_at = now  # a sender's clock in the future must not pin it atop the timeline
    message = EmailMessage.objects.create(
        mailbox=mailbox,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        thread_key=thread_key,
        direction=direction,
        from_address=parsed.from_address[:320],
        from_name=parsed.from_name,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        text_body=parsed.text,
        html_body=parsed.html,
        sent_at=sent_at,
        size=parsed.size,
        contact=contact,
        lead=lead,
        deal=deal,
        imap_uid=uid,
        imap_uidvalidity=uidvalidity,
    )
    _store_attachments(message, parsed)
    if contact is not None:
        message.activity = activity_log(
            actor=_actor_for(contact, mailbox),
            kind=ActivityKind.EMAIL,
            contact=contact,
            deal=deal,
            direction=direction,
            subject=parsed.subject[:255],
            body=_activity_body(parsed),
            occurred_at=sent_at,
        )
    elif lead is None and direction == MailDirection.IN and not parsed.auto_submitted:
        from svyaz.intake.services import intake_lead_create

        subject = parsed.subject or _("(no subject)")
        message.lead = intake_lead_create(
            channel=Channel.EMAIL,
            source="email",
            received_at=sent_at,
            title=(_("Email: %(subject)s") % {"subject": subject})[:255],
            fields=_lead_fields(parsed),
            routing_group=mailbox.routing_group,
            followup_title=(_("Answer the email: %(subject)s") % {"subject": subject})[:255],
        )
        if message.lead.contact_id:
            message.contact = message.lead.contact
    message.save(update_fields=["activity", "lead", "contact"])
    email_timeline_link(message)  # the timeline entry links to the thread page
    emit("mail.received", pk=message.pk, mailbox_id=mailbox.pk, direction=direction)
    return message


def _activity_body(parsed: ParsedMail) -> str:
    body = parsed.text
    if len(body) > ACTIVITY_BODY_LIMIT:
        body = body[:ACTIVITY_BODY_LIMIT] + "…"
    if parsed.attachments:
        names = ", ".join(a.filename for a in parsed.attachments)
        body += "\n\n" + _("Attachments: %(names)s") % {"names": names}
    return body


def message_import(
    *, mailbox: Mailbox, raw: bytes, uid: int | None = None, uidvalidity: int | None = None
) -> ImportResult:
    """Import one message (call inside a transaction). Never raises for bad mail."""
    try:
        parsed = mail_parse(raw)
    except MalformedMail as exc:
        entry = quarantine_add(
            mailbox=mailbox,
            reason=QuarantineReason.MALFORMED,
            error=str(exc),
            raw=raw,
            uid=uid,
            uidvalidity=uidvalidity,
        )
        return ImportResult("quarantined", quarantine=entry)
    existing = EmailMessage.objects.filter(mailbox=mailbox, message_id=parsed.message_id).first()
    if existing is not None:
        return ImportResult("duplicate", message=existing)
    try:
        with transaction.atomic():  # a savepoint: a failed effect leaves nothing half-written
            message = _apply(mailbox=mailbox, parsed=parsed, uid=uid, uidvalidity=uidvalidity)
    except IntegrityError:
        existing = EmailMessage.objects.filter(
            mailbox=mailbox, message_id=parsed.message_id
        ).first()
        if existing is not None:
            return ImportResult("duplicate", message=existing)
        raise
    except DataError as exc:
        # A value the database refuses: the message's fault, not the database's.
        entry = quarantine_add(
            mailbox=mailbox,
            reason=QuarantineReason.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            raw=raw,
            uid=uid,
            uidvalidity=uidvalidity,
        )
        return ImportResult("quarantined", quarantine=entry)
    except DatabaseError:
        raise  # the database itself: stop, the next run retries from the mark
    except Exception as exc:  # noqa: BLE001 - any other failure: keep the message, move on
        log.exception("mailbox %s: importing uid=%s failed", mailbox.pk, uid)
        entry = quarantine_add(
            mailbox=mailbox,
            reason=QuarantineReason.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            raw=raw,
            uid=uid,
            uidvalidity=uidvalidity,
        )
        return ImportResult("quarantined", quarantine=entry)
    return ImportResult("imported", message=message)
