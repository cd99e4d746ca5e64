"""WebSocket consumers (Django Channels).

Widget socket `/ws/chat/widget/<key>/`: accepted when the widget is active and the page's
Origin is one of its sites; the first frame must be {"type": "hello", "token": …} with the
visitor's token (kept out of the URL, so out of access logs). Then the visitor sends
{"type": "message", "text": …} and receives {"type": "message", "message": {…}} and
{"type": "status", "status": "closed"}.

Operator socket `/ws/chat/operator/` (the list) and `/ws/chat/operator/<id>/` (one
conversation): session-authenticated (AuthMiddlewareStack), same-origin only, 2FA done,
the conversation in the operator's scope. It only pushes notes ({"type": "changed"},
{"type": "message", "id": …}); the page fetches the HTML from the server, which renders
(and escapes) it.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError

from svyaz.intake.chat import realtime, services
from svyaz.intake.chat.origins import origin_allowed

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN = 4401


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


@database_sync_to_async
def _widget(key: str):
    from svyaz.intake.models import ChatWidget

    return ChatWidget.objects.filter(key=key, active=True).first()


@database_sync_to_async
def _visitor_conversation(widget, token: str):
    return services.visitor_conversation(widget=widget, token=token)


@database_sync_to_async
def _visitor_send(conversation_id: int, text: str) -> dict:
    from svyaz.intake.models import Conversation

    conversation = Conversation.objects.get(pk=conversation_id)
    message = services.visitor_message_add(conversation=conversation, text=text)
    return realtime.message_json(message)


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    widget = None
    conversation_id: int | None = None

    async def connect(self):
        key = self.scope["url_route"]["kwargs"]["key"]
        self.widget = await _widget(key)
        origin = _header(self.scope, b"origin")
        if self.widget is None or not origin_allowed(self.widget, origin):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()

    async def disconnect(self, code):
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(
                realtime.conversation_group(self.conversation_id), self.channel_name
            )

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "hello":
            conversation = await _visitor_conversation(self.widget, str(content.get("token", "")))
            if conversation is None:
                await self.send_json({"type": "error", "code": "unknown_conversation"})
                await self.close(code=CLOSE_UNKNOWN)
                return
            if self.conversation_id not in (None, conversation.pk):
                await self.channel_layer.group_discard(
                    realtime.conversation_group(self.conversation_id), self.channel_name
                )
            self.conversation_id = conversation.pk
            await self.channel_layer.group_add(
                realtime.conversation_group(conversation.pk), self.channel_name
            )
            await self.send_json({"type": "ready", "status": conversation.status})
        elif kind == "message":
            if self.conversation_id is None:
                await self.close(code=CLOSE_UNKNOWN)
                return
            try:
                message = await _visitor_send(self.conversation_id, content.get("text", ""))
            except ValidationError as exc:
                await self.send_json({"type": "error", "errors": exc.message_dict})
            except services.Flooded:
                await self.send_json({"type": "error", "code": "too_many"})
            else:
                # The group event brings it back too; the widget de-duplicates by id.
                await self.send_json({"type": "sent", "message": message})
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def chat_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_status(self, event):
        await self.send_json({"type": "status", "status": event["status"]})

    async def chat_changed(self, event):
        pass


@database_sync_to_async
def _operator_ready(user, session) -> bool:
    """Signed in, two-factor step done, allowed to see messages at all."""
    from svyaz.accounts.services import TWO_FACTOR_SESSION_KEY, TwoFactorState, two_factor_state
    from svyaz.core.scoping import can

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    state = session.get(TWO_FACTOR_SESSION_KEY) if session is not None else None
    if state is None:
        state = two_factor_state(user=user)
    return state == TwoFactorState.OK and can(user, "activities", "view")


@database_sync_to_async
def _operator_sees(user, conversation_id: int) -> bool:
    from svyaz.core.errors import NotFound
    from svyaz.intake.chat.selectors import conversation_get

    try:
        conversation_get(user=user, pk=conversation_id)
    except NotFound:
        return False
    return True


@database_sync_to_async
def _in_scope(user, owner_id, department_id) -> bool:
    from svyaz.core.scoping import can

    record = SimpleNamespace(owner_id=owner_id, department_id=department_id)
    return can(user, "activities", "view", record)


class OperatorConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        if not await _operator_ready(user, self.scope.get("session")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        conversation_id = self.scope["url_route"]["kwargs"].get("pk")
        if conversation_id is not None:
            if not await _operator_sees(user, int(conversation_id)):
                await self.close(code=CLOSE_FORBIDDEN)
                return
            self.groups_joined.append(realtime.conversation_group(int(conversation_id)))
        else:
            self.groups_joined.append(realtime.OPERATORS_GROUP)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def chat_message(self, event):
        await self.send_json({"type": "message", "id": event["message"]["id"]})

    async def chat_status(self, event):
        await self.send_json({"type": "status", "status": event["status"]})

    async def chat_changed(self, event):
        if await _in_scope(self.scope["user"], event.get("owner_id"), event.get("department_id")):
            await self.send_json({"type": "changed", "conversation": event["conversation"]})
