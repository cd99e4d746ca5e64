"""Reads of conversations, in the user's scope (the "activities" grants: a conversation is
a thread of message activities; its owner is the operator it was routed to)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from svyaz.contacts.models import Contact
from svyaz.core.errors import NotFound
from svyaz.core.scoping import scope_q, visible_to
from svyaz.intake.models import Conversation, ConversationStatus, Message
from svyaz.sales.models import Lead

ENTITY = "activities"


def conversations_visible(user) -> QuerySet[Conversation]:
    cond = scope_q(user, ENTITY, "view")
    qs = Conversation.objects.all()
    return qs if cond is None else qs.filter(cond)


def conversation_list(*, user, status: str = ConversationStatus.OPEN, mine: bool = False):
    qs = conversations_visible(user).select_related("owner", "widget", "source", "contact", "lead")
    if status in ConversationStatus.values:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(owner=user)
    return qs.order_by("-last_message_at", "-id")


def conversation_get(*, user, pk) -> Conversation:
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound from exc
    conversation = (
        conversations_visible(user)
        .select_related("owner", "widget", "source", "contact", "lead")
        .filter(pk=pk)
        .first()
    )
    if conversation is None:
        raise NotFound
    return conversation


def conversation_messages(conversation: Conversation, *, after: int = 0, limit: int = 200):
    """The conversation's messages after id `after` (oldest first); the latest `limit`
    when reading from the start."""
    qs = Message.objects.filter(conversation=conversation).select_related("author")
    if after:
        return list(qs.filter(pk__gt=after).order_by("id")[:limit])
    return list(reversed(qs.order_by("-id")[:limit]))


# --- the read API: scoped through the client, like mail ------------------------------------


def conversations_of_visible_clients(user) -> QuerySet[Conversation]:
    """Conversations whose contact or lead is in `user`'s scope (the REST API's reading,
    the same as mail's: a client's history is visible with the client). A conversation
    not linked to a client yet (its first message still being processed) is in nobody's
    API list; the operators' pages show it by its operator."""
    contacts = visible_to(user, Contact.objects.all()).values("pk")
    leads = visible_to(user, Lead.objects.all()).values("pk")
    return Conversation.objects.filter(Q(contact__in=contacts) | Q(lead__in=leads))


def client_conversation_get(*, user, pk) -> Conversation:
    """One conversation of a visible client, else NotFound (404, never telling whether
    it exists)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound from exc
    conversation = (
        conversations_of_visible_clients(user)
        .select_related("source", "widget", "owner")
        .filter(pk=pk)
        .first()
    )
    if conversation is None:
        raise NotFound
    return conversation
