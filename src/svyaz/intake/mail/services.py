"""Writes of the mail settings (staff): mailboxes, templates, the quarantine."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.core.errors import PermissionDenied
from svyaz.core.scoping import require
from svyaz.intake.mail.merge import merge_check
from svyaz.intake.models import (
    EmailMessage,
    EmailTemplate,
    Mailbox,
    MailQuarantine,
    QuarantineReason,
)

MAILBOX_FIELDS = (
    "name",
    "from_address",
    "from_name",
    "imap_host",
    "imap_port",
    "imap_ssl",
    "imap_username",
    "imap_password",
    "folder",
    "smtp_host",
    "smtp_port",
    "smtp_starttls",
    "smtp_ssl",
    "smtp_username",
    "smtp_password",
    "owner",
    "routing_group",
    "active",
)
SECRET_FIELDS = ("imap_password", "smtp_password")
TEMPLATE_FIELDS = ("name", "subject", "body", "active")


def _require_staff(actor) -> None:
    """Mailboxes and templates are settings: the settings/edit grant (issue #3); a refusal
    is logged and raises PermissionDenied."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Only administrators manage mailboxes."))
    require(actor, "settings", "edit")


@transaction.atomic
def mailbox_save(*, actor, data: dict[str, Any], mailbox: Mailbox | None = None) -> Mailbox:
    """Create or change a mailbox. An empty password keeps the one stored (forms never
    show it back). Changing the server or folder starts the import mark afresh."""
    _require_staff(actor)
    unknown = set(data) - set(MAILBOX_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    mailbox = mailbox or Mailbox()
    before = (mailbox.imap_host, mailbox.imap_username, mailbox.folder)
    for name, value in data.items():
        if name in SECRET_FIELDS and not value:
            continue
        setattr(mailbox, name, value.strip() if isinstance(value, str) else value)
    mailbox.from_address = (mailbox.from_address or "").lower()
    errors: dict[str, list[str]] = {}
    if mailbox.smtp_ssl and mailbox.smtp_starttls:
        errors["smtp_starttls"] = [_("Choose SSL/TLS or STARTTLS, not both.")]
    if not mailbox.imap_host and not mailbox.smtp_host:
        errors["imap_host"] = [_("Set an IMAP server, an SMTP server or both.")]
    if mailbox.imap_host and not mailbox.imap_username:
        errors["imap_username"] = [_("The IMAP server needs a user name.")]
    try:
        mailbox.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if mailbox.pk and before != (mailbox.imap_host, mailbox.imap_username, mailbox.folder):
        mailbox.uidvalidity = None
        mailbox.last_uid = 0
    mailbox.save()
    return mailbox


@transaction.atomic
def email_template_save(
    *, actor, data: dict[str, Any], template: EmailTemplate | None = None
) -> EmailTemplate:
    _require_staff(actor)
    template = template or EmailTemplate()
    for name in TEMPLATE_FIELDS:
        if name in data:
            value = data[name]
            setattr(template, name, value.strip() if isinstance(value, str) else value)
    merge_check(subject=template.subject, body=template.body)
    template.full_clean()
    template.save()
    return template


def quarantine_retry(*, actor, entry: MailQuarantine) -> EmailMessage:
    """Import a quarantined message again (after a fix, or a raised size limit: an
    oversized one is fetched from the server by its UID). Still failing: the error, and
    the entry stays as it was."""
    from svyaz.intake.mail.imap import MailboxError, imap_fetch_one
    from svyaz.intake.mail.importer import message_import

    _require_staff(actor)
    if entry.resolved_at is not None and entry.message_id:
        return entry.message
    if entry.reason == QuarantineReason.OVERSIZED or not entry.raw:
        try:
            raw = imap_fetch_one(entry.mailbox, entry.imap_uidvalidity, entry.imap_uid)
        except MailboxError as exc:
            raise ValidationError(str(exc)) from exc
    else:
        with entry.raw.open("rb") as fh:
            raw = fh.read()
    with transaction.atomic():
        point = transaction.savepoint()
        result = message_import(mailbox=entry.mailbox, raw=raw)
        if result.status == "quarantined":
            transaction.savepoint_rollback(point)
            raise ValidationError(result.quarantine.error if result.quarantine else "")
        transaction.savepoint_commit(point)
        entry.resolved_at = timezone.now()
        entry.message = result.message
        entry.save(update_fields=["resolved_at", "message"])
    return result.message


@transaction.atomic
def quarantine_dismiss(*, actor, entry: MailQuarantine) -> None:
    """Mark the entry handled without importing (spam, a test message)."""
    _require_staff(actor)
    if entry.resolved_at is None:
        entry.resolved_at = timezone.now()
        entry.save(update_fields=["resolved_at"])


def email_timeline_link(message: EmailMessage) -> None:
    """Note the email's id on its timeline entry (written by activity_log), so the
    timeline links to the thread page (intake:mail_thread). Same transaction, one read
    and one write."""
    from svyaz.core.models import TimelineEntry

    if not message.activity_id:
        return
    entries = TimelineEntry.objects.filter(
        object_type="activity", object_id=message.activity_id
    ).only("pk", "data")
    if message.contact_id:
        entries = entries.filter(contact_id=message.contact_id)  # the card's index
    for entry in entries:
        entry.data = {**(entry.data or {}), "email": message.pk}
        entry.save(update_fields=["data"])
