"""Reads of mail, scoped: a message is visible to whoever sees its contact or its lead."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from svyaz.contacts.models import Contact
from svyaz.core.scoping import visible_to
from svyaz.intake.models import EmailMessage
from svyaz.sales.models import Lead


def email_messages_visible(user) -> QuerySet[EmailMessage]:
    """Messages linked to a contact or a lead in `user`'s scope (unlinked mail: nobody's
    list; the mailbox settings page counts it)."""
    contacts = visible_to(user, Contact.objects.all()).values("pk")
    leads = visible_to(user, Lead.objects.all()).values("pk")
    return EmailMessage.objects.filter(Q(contact__in=contacts) | Q(lead__in=leads))


def email_message_get(user, pk) -> EmailMessage:
    """The message if visible, else 404 (never telling whether it exists)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    message = (
        email_messages_visible(user)
        .select_related("mailbox", "contact", "lead", "deal", "sent_by")
        .filter(pk=pk)
        .first()
    )
    if message is None:
        raise Http404
    return message


def email_thread(user, message: EmailMessage) -> list[EmailMessage]:
    """The visible messages of `message`'s thread, oldest first, with attachments."""
    return list(
        email_messages_visible(user)
        .filter(thread_key=message.thread_key)
        .select_related("mailbox", "sent_by")
        .prefetch_related("attachments")
        .order_by("sent_at", "id")
    )


def email_threads_for_contact(user, contact, *, limit: int = 10) -> list[dict]:
    """The contact's latest threads: [{"last": message, "count": n}], newest first."""
    messages = list(
        email_messages_visible(user)
        .filter(contact=contact)
        .only("pk", "thread_key", "subject", "direction", "sent_at", "from_address", "from_name")
        .order_by("-sent_at", "-id")[:200]
    )
    threads: dict[str, dict] = {}
    for message in messages:
        entry = threads.setdefault(message.thread_key, {"last": message, "count": 0})
        entry["count"] += 1
    return list(threads.values())[:limit]
