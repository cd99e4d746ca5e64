"""POST /api/v1/intake/messages/ — incoming messages from messengers and social networks.

A bot or gateway (Telegram, WhatsApp, VK…) is a `MessageSource` with its own secret. It
signs each request like the generic telephony webhook:

    X-Svyaz-Source: <source name>
    X-Svyaz-Timestamp: <Unix seconds>            (refused when more than 5 minutes off)
    X-Svyaz-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>

    {"event_id": "tg-1001",                       (the same id twice: one message)
     "sender": {"id": "12345", "name": "Olga", "phone": "+7…", "email": "…"},
     "text": "Hello!", "sent_at": "2026-12-01T10:00:00+03:00"}

One conversation per sender and source; an unknown sender becomes a lead (routing, SLA,
duplicate check), a known one (same phone or email) gets the message on the timeline.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from svyaz.intake.chat import services
from svyaz.intake.models import MessageSource
from svyaz.intake.telephony.base import WebhookRefused
from svyaz.intake.telephony.generic import GenericAdapter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class SenderSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128, help_text="The sender's id in the network.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        try:
            details = services.clean_visitor(
                name=attrs.get("name", ""),
                email=attrs.get("email", ""),
                phone=attrs.get("phone", ""),
            )
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return {**attrs, **details}


class InboundMessageSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=128)
    sender = SenderSerializer()
    text = serializers.CharField(max_length=services.MAX_TEXT, trim_whitespace=True)
    sent_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class InboundMessageView(APIView):
    """Receive one message from a messenger or social network (signed, replay-safe)."""

    authentication_classes: list = []  # signed by the source (HMAC), not by a session
    permission_classes = [AllowAny]

    @extend_schema(
        request=InboundMessageSerializer,
        parameters=[
            OpenApiParameter("X-Svyaz-Source", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Svyaz-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Svyaz-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            200: inline_serializer(
                "InboundMessageAccepted",
                {
                    "ok": serializers.BooleanField(),
                    "status": serializers.ChoiceField(["accepted", "duplicate"]),
                    "id": serializers.IntegerField(),
                    "conversation": serializers.IntegerField(),
                },
            )
        },
    )
    def post(self, request):
        raw = request._request  # the signature covers the raw body: read it before parsing
        if len(raw.body) > MAX_BODY_BYTES:
            return Response({"ok": False, "error": _("Too large.")}, status=413)
        name = raw.headers.get("X-Svyaz-Source", "")
        source = MessageSource.objects.filter(name=name, active=True).first() if name else None
        if source is None:
            return Response({"ok": False, "error": _("Unknown message source.")}, status=403)
        try:
            GenericAdapter().verify(raw, source.secret)
        except WebhookRefused as exc:
            return Response({"ok": False, "error": exc.message}, status=exc.status)
        serializer = InboundMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sender = data["sender"]
        message, created = services.inbound_message_receive(
            source=source,
            data=services.InboundMessage(
                event_id=data["event_id"].strip(),
                sender_id=sender["id"].strip(),
                text=data["text"],
                name=sender["name"],
                phone=sender["phone"],
                email=sender["email"],
                sent_at=data["sent_at"],
            ),
        )
        return Response(
            {
                "ok": True,
                "status": "accepted" if created else "duplicate",
                "id": message.pk,
                "conversation": message.conversation_id,
            },
            status=status.HTTP_200_OK,
        )


urlpatterns = [
    path("intake/messages/", InboundMessageView.as_view(), name="intake-messages"),
]
