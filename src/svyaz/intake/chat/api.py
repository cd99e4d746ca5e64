"""POST /api/v1/intake/messages/ — incoming messages from messengers and social networks.

A bot or gateway (Telegram, WhatsApp, VK…) is a `MessageSource` with its own secret. It
signs each request like the generic telephony webhook:

    X-Svyaz-Source: <source name>
    X-Svyaz-Timestamp: <Unix seconds>            (refused when more than 5 minutes off)
    X-Svyaz-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>

    {"event_id": "tg-1001",                       (the same id twice: one message)
     "sender": {"id": "12345", "name": "Olga", "phone": "+7…", "email": "…",
                "language": "ru"},                (optional: for routing by language)
     "text": "Hello!", "sent_at": "2026-12-01T10:00:00+03:00"}

One conversation per sender and source; an unknown sender becomes a lead (routing, SLA,
duplicate check), a known one (same phone or email) gets the message on the timeline.
"""

from __future__ import annotations

import logging

import django_filters
from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import filters, mixins, routers, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from svyaz.intake.chat import selectors, services
from svyaz.intake.models import (
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    MessageSource,
)
from svyaz.intake.telephony.base import WebhookRefused
from svyaz.intake.telephony.generic import GenericAdapter
from svyaz.sales.models import Channel

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class SenderSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128, help_text="The sender's id in the network.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    language = serializers.CharField(
        max_length=35,
        required=False,
        allow_blank=True,
        default="",
        help_text="The sender's language tag (Telegram's language_code…): routing reads it.",
    )

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
                language=sender["language"],
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


# --- reading conversations: GET /api/v1/conversations/ and /api/v1/conversations/<id>/ ----

# The detail carries a conversation's latest messages; older ones: ?before=<message id>.
DETAIL_MESSAGES = 200


class ConversationMessageOutput(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "body",
            "author",
            "author_name",
            "sent_at",
            "received_at",
            "delivered_at",
        ]

    def get_author_name(self, obj) -> str:
        return str(obj.author) if obj.author_id else ""


# Described, not enumerated: an enum component would clash with other "status"/direction
# choice sets (drf-spectacular's W001 in `manage.py check --deploy`).
@extend_schema_field({"type": "string", "description": " | ".join(ConversationStatus.values)})
class _StatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "description": " | ".join(MessageDirection.values)})
class _DirectionField(serializers.CharField):
    pass


class ConversationOutput(serializers.ModelSerializer):
    network = serializers.SerializerMethodField()
    status = _StatusField(read_only=True)
    last_direction = _DirectionField(read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "channel",
            "network",
            "source",
            "widget",
            "status",
            "name",
            "email",
            "phone",
            "language",
            "owner",
            "contact",
            "lead",
            "created_at",
            "last_message_at",
            "last_direction",
            "closed_at",
            "landing_page",
            "referrer",
        ]

    def get_network(self, obj) -> str:
        """Where it came from: "Telegram", "Website chat"…"""
        return str(services.channel_name(obj))


class ConversationDetailOutput(ConversationOutput):
    messages = serializers.SerializerMethodField()
    has_earlier_messages = serializers.SerializerMethodField()

    class Meta(ConversationOutput.Meta):
        fields = [*ConversationOutput.Meta.fields, "messages", "has_earlier_messages"]

    def _page(self, obj) -> tuple[list[Message], bool]:
        if not hasattr(obj, "_api_messages"):
            qs = Message.objects.filter(conversation=obj).select_related("author")
            before = self.context.get("before")
            if before:
                qs = qs.filter(pk__lt=before)
            rows = list(qs.order_by("-id")[: DETAIL_MESSAGES + 1])
            obj._api_messages = (
                list(reversed(rows[:DETAIL_MESSAGES])),
                len(rows) > DETAIL_MESSAGES,
            )
        return obj._api_messages

    @extend_schema_field(ConversationMessageOutput(many=True))
    def get_messages(self, obj):
        return ConversationMessageOutput(self._page(obj)[0], many=True).data

    def get_has_earlier_messages(self, obj) -> bool:
        return self._page(obj)[1]


class ConversationFilter(django_filters.FilterSet):
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    status = django_filters.ChoiceFilter(choices=ConversationStatus.choices)
    contact = django_filters.NumberFilter(field_name="contact_id")
    lead = django_filters.NumberFilter(field_name="lead_id")
    owner = django_filters.NumberFilter(field_name="owner_id")
    language = django_filters.CharFilter(field_name="language")
    last_message_from = django_filters.IsoDateTimeFilter(
        field_name="last_message_at", lookup_expr="gte"
    )
    last_message_to = django_filters.IsoDateTimeFilter(
        field_name="last_message_at", lookup_expr="lt"
    )

    class Meta:
        model = Conversation
        fields = ["channel", "status", "contact", "lead", "owner", "language"]


class ConversationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Conversations (website chat, messengers, social networks) of the clients the user
    can see: a conversation is visible when its contact or its lead is (read-only).
    The detail has the latest messages, oldest first; `?before=<message id>` reads the
    ones before (see `has_earlier_messages`)."""

    serializer_class = ConversationOutput
    filterset_class = ConversationFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.OrderingFilter,
        filters.SearchFilter,
    ]
    search_fields = ["name", "email", "phone"]
    ordering_fields = ["last_message_at", "created_at"]
    ordering = ["-last_message_at", "-id"]

    def get_queryset(self):
        return selectors.conversations_of_visible_clients(self.request.user).select_related(
            "source", "widget"
        )

    def get_serializer_class(self):
        return ConversationDetailOutput if self.action == "retrieve" else ConversationOutput

    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="Messages before this id.")]
    )
    def retrieve(self, request, *args, **kwargs):
        conversation = selectors.client_conversation_get(user=request.user, pk=kwargs["pk"])
        before = request.query_params.get("before")
        try:
            before = int(before) if before else None
        except ValueError as exc:
            raise serializers.ValidationError(
                {"before": [_("A message id must be a whole number.")]}
            ) from exc
        return Response(ConversationDetailOutput(conversation, context={"before": before}).data)


router = routers.SimpleRouter()
router.register("conversations", ConversationViewSet, basename="conversation")
