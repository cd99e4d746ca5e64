"""Live updates through the Channels layer: who listens to what, and sending after commit.

Groups:
- `chat.conversation.<id>`: the visitor's widget socket and the operators' pages of that
  conversation; events `chat.message` (the message as JSON) and `chat.status`.
- `chat.operators`: every operator socket; event `chat.changed` with the conversation's id,
  owner and department only, so a consumer can check the operator's scope without a query.

A layer that is down (Redis away) never fails a request: the message is stored already and
the pages' polling picks it up.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

OPERATORS_GROUP = "chat.operators"


def conversation_group(conversation_id: int) -> str:
    return f"chat.conversation.{conversation_id}"


def message_json(message) -> dict[str, Any]:
    """What a widget or an operator socket gets for one message (text, never HTML)."""
    author = message.author
    return {
        "id": message.pk,
        "direction": message.direction,
        "text": message.body,
        "author": (author.get_short_name() or author.get_username()) if author else "",
        "sent_at": message.sent_at.isoformat(),
    }


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # noqa: BLE001 - live updates are best effort; polling catches up
        log.warning("chat: could not publish to %s", group, exc_info=True)


def _changed_event(conversation) -> dict[str, Any]:
    return {
        "type": "chat.changed",
        "conversation": conversation.pk,
        "owner_id": conversation.owner_id,
        "department_id": conversation.department_id,
    }


def publish_message(message) -> None:
    """After the current transaction commits: the message to its conversation's sockets
    and a "changed" note to the operators."""
    payload = message_json(message)
    conversation = message.conversation

    def send() -> None:
        _send(conversation_group(conversation.pk), {"type": "chat.message", "message": payload})
        _send(OPERATORS_GROUP, _changed_event(conversation))

    transaction.on_commit(send)


def publish_status(conversation) -> None:
    status = conversation.status

    def send() -> None:
        _send(conversation_group(conversation.pk), {"type": "chat.status", "status": status})
        _send(OPERATORS_GROUP, _changed_event(conversation))

    transaction.on_commit(send)


def publish_changed(conversation) -> None:
    """The conversation got an operator, a client… : operators' lists refresh."""
    event = _changed_event(conversation)
    transaction.on_commit(lambda: _send(OPERATORS_GROUP, event))
