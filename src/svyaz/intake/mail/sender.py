"""Writing email from the client card: merge fields, SMTP, threading, the timeline.

The message is sent first and recorded after: a refusal by the SMTP server writes nothing
and the user sees why. The Message-ID is made before sending and stored, so the client's
reply (In-Reply-To / References) threads back to it when the poller imports it."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage as StdMessage
from email.utils import format_datetime, formataddr, make_msgid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.activities.models import ActivityKind
from svyaz.activities.services import activity_log
from svyaz.core.errors import PermissionDenied
from svyaz.core.events import emit
from svyaz.core.scoping import can_see
from svyaz.intake.mail.merge import merge_check, merge_render
from svyaz.intake.mail.services import email_timeline_link
from svyaz.intake.models import EmailMessage, Mailbox, MailDirection

TIMEOUT_SECONDS = 30


class SendFailed(ValidationError):
    """The SMTP server could not be reached or refused the message (nothing was written)."""


def _smtp(mailbox: Mailbox) -> smtplib.SMTP:
    if mailbox.smtp_ssl:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            mailbox.smtp_host,
            mailbox.smtp_port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        conn = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=TIMEOUT_SECONDS)
        if mailbox.smtp_starttls:
            conn.starttls(context=ssl.create_default_context())
    if mailbox.smtp_username:
        conn.login(mailbox.smtp_username, mailbox.smtp_password)
    return conn


def smtp_deliver(mailbox: Mailbox, message: StdMessage, recipients: list[str]) -> None:
    """Hand the message to the mailbox's SMTP server; SendFailed with the reason."""
    if not mailbox.smtp_host:
        raise SendFailed({"mailbox": [_("This mailbox has no SMTP server set.")]})
    try:
        conn = _smtp(mailbox)
        try:
            refused = conn.send_message(
                message, from_addr=mailbox.from_address, to_addrs=recipients
            )
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(
            {"__all__": [_("The mail server refused the login: %(e)s") % {"e": _reason(exc)}]}
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(
            {"to": [_("The mail server refused the recipient: %(e)s") % {"e": exc}]}
        ) from exc
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise SendFailed(
            {
                "__all__": [
                    _("The mail server did not accept the message: %(e)s") % {"e": _reason(exc)}
                ]
            }
        ) from exc
    if refused:
        raise SendFailed(
            {"to": [_("The mail server refused: %(list)s") % {"list": ", ".join(refused)}]}
        )


def _reason(exc: Exception) -> str:
    error = getattr(exc, "smtp_error", None)
    if isinstance(error, bytes):
        return error.decode("utf-8", "replace")
    return str(exc) or type(exc).__name__


def _recipients(to: list[str] | str) -> list[str]:
    if isinstance(to, str):
        to = to.replace(";", ",").split(",")
    out = []
    for address in to:
        address = address.strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(
                {"to": [_("“%(a)s” is not an email address.") % {"a": address}]}
            ) from exc
        if address not in out:
            out.append(address)
    if not out:
        raise ValidationError({"to": [_("Enter at least one address.")]})
    return out


def email_build(
    *,
    mailbox: Mailbox,
    to: list[str],
    subject: str,
    body: str,
    reply_to: EmailMessage | None = None,
) -> StdMessage:
    message = StdMessage()
    message["From"] = formataddr((mailbox.from_name, mailbox.from_address))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    domain = mailbox.from_address.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    if reply_to is not None:
        message["In-Reply-To"] = reply_to.message_id
        refs = [*reply_to.references.split(), reply_to.message_id]
        # Long threads: the root and the most recent ids are what readers use (RFC 5322).
        if len(refs) > 20:
            refs = [refs[0], *refs[-19:]]
        message["References"] = " ".join(refs)
    message.set_content(body, charset="utf-8")
    return message


def email_send(
    *,
    actor,
    mailbox: Mailbox,
    to: list[str] | str,
    subject: str,
    body: str,
    contact=None,
    lead=None,
    reply_to: EmailMessage | None = None,
) -> EmailMessage:
    """Send an email to a contact (or a lead) and put it on the timeline.

    `subject` and `body` may hold merge fields; they are filled for this contact and
    sender. A reply carries In-Reply-To/References and joins the thread."""
    if contact is None and lead is None:
        raise ValidationError({"__all__": [_("Choose who the email is for.")]})
    for record in (contact, lead):
        if record is not None and (
            getattr(record, "deleted_at", None) is not None or not can_see(actor, record)
        ):
            raise PermissionDenied(_("You cannot write to this client."))
    if not mailbox.active:
        raise ValidationError({"mailbox": [_("This mailbox is switched off.")]})
    subject = " ".join((subject or "").split())
    body = (body or "").replace("\r\n", "\n")
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if not body.strip():
        errors["body"] = [_("Write the text.")]
    if errors:
        raise ValidationError(errors)
    merge_check(subject=subject, body=body)
    recipients = _recipients(to)
    subject = " ".join(merge_render(subject, contact=contact, lead=lead, user=actor).split())
    body = merge_render(body, contact=contact, lead=lead, user=actor)
    message = email_build(
        mailbox=mailbox, to=recipients, subject=subject[:500], body=body, reply_to=reply_to
    )
    smtp_deliver(mailbox, message, recipients)
    return _record(
        actor=actor,
        mailbox=mailbox,
        message=message,
        recipients=recipients,
        subject=subject[:500],
        body=body,
        contact=contact,
        lead=lead,
        reply_to=reply_to,
    )


@transaction.atomic
def _record(*, actor, mailbox, message, recipients, subject, body, contact, lead, reply_to):
    message_id = message["Message-ID"].strip()
    thread_key = reply_to.thread_key if reply_to is not None else message_id
    deal = reply_to.deal if reply_to is not None and reply_to.deal_id else None
    stored = EmailMessage.objects.create(
        mailbox=mailbox,
        message_id=message_id,
        in_reply_to=reply_to.message_id if reply_to is not None else "",
        references=str(message.get("References", "")),
        thread_key=thread_key,
        direction=MailDirection.OUT,
        from_address=mailbox.from_address.lower(),
        from_name=mailbox.from_name,
        to=recipients,
        subject=subject,
        text_body=body,
        sent_at=timezone.now(),
        size=len(message.as_bytes()),
        contact=contact,
        lead=lead,
        deal=deal,
        sent_by=actor,
    )
    if contact is not None:
        stored.activity = activity_log(
            actor=actor,
            kind=ActivityKind.EMAIL,
            contact=contact,
            deal=deal,
            direction=MailDirection.OUT,
            subject=subject[:255],
            body=body,
            occurred_at=stored.sent_at,
        )
        stored.save(update_fields=["activity"])
        email_timeline_link(stored)  # the timeline entry links to the thread page
    emit("mail.sent", pk=stored.pk, mailbox_id=mailbox.pk, actor_id=actor.pk)
    return stored
