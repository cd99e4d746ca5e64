"""REST API of mail: mailboxes (staff; passwords write-only) and messages (read-only,
scoped through the linked contact or lead)."""

from __future__ import annotations

import django_filters
from rest_framework import filters, mixins, routers, serializers, viewsets
from rest_framework.response import Response

from svyaz.core.access import SettingsPermission
from svyaz.intake.mail import selectors, services
from svyaz.intake.models import EmailAttachment, EmailMessage, Mailbox, MailDirection


class MailboxSerializer(serializers.ModelSerializer):
    imap_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    smtp_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    has_imap_password = serializers.SerializerMethodField()
    has_smtp_password = serializers.SerializerMethodField()

    class Meta:
        model = Mailbox
        fields = [
            "id",
            *services.MAILBOX_FIELDS,
            "has_imap_password",
            "has_smtp_password",
            "uidvalidity",
            "last_uid",
            "last_polled_at",
            "last_error",
        ]
        read_only_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_error"]

    def get_has_imap_password(self, obj) -> bool:
        return bool(obj.imap_password)

    def get_has_smtp_password(self, obj) -> bool:
        return bool(obj.smtp_password)

    def validate(self, attrs):
        # Model validation is the service's (it knows an empty password means "keep").
        return attrs


class MailboxViewSet(viewsets.ModelViewSet):
    """Mailboxes (administrators only). Passwords are write-only: `has_*_password` says
    whether one is stored; an empty or absent password keeps the stored one."""

    serializer_class = MailboxSerializer
    permission_classes = [SettingsPermission]  # settings: view reads, edit writes
    filter_backends = [filters.OrderingFilter, filters.SearchFilter]
    search_fields = ["name", "from_address"]
    ordering_fields = ["name", "last_polled_at"]
    ordering = ["name", "id"]
    # No DELETE: a mailbox keeps its mail; switch it off (active=false) instead.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return Mailbox.objects.all()

    def perform_create(self, serializer):
        serializer.instance = services.mailbox_save(
            actor=self.request.user, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer):
        serializer.instance = services.mailbox_save(
            actor=self.request.user,
            data=dict(serializer.validated_data),
            mailbox=serializer.instance,
        )


class AttachmentOutput(serializers.ModelSerializer):
    stored = serializers.BooleanField(read_only=True)

    class Meta:
        model = EmailAttachment
        fields = ["id", "filename", "content_type", "size", "stored"]


class EmailMessageOutput(serializers.ModelSerializer):
    attachments = AttachmentOutput(many=True, read_only=True)

    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "mailbox",
            "message_id",
            "in_reply_to",
            "references",
            "thread_key",
            "direction",
            "from_address",
            "from_name",
            "to",
            "cc",
            "subject",
            "sent_at",
            "received_at",
            "size",
            "contact",
            "lead",
            "deal",
            "activity",
            "attachments",
        ]


class EmailMessageDetailOutput(EmailMessageOutput):
    class Meta(EmailMessageOutput.Meta):
        fields = [*EmailMessageOutput.Meta.fields, "text_body", "html_body"]


class EmailMessageFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(choices=MailDirection.choices)
    mailbox = django_filters.NumberFilter(field_name="mailbox_id")
    contact = django_filters.NumberFilter(field_name="contact_id")
    lead = django_filters.NumberFilter(field_name="lead_id")
    thread = django_filters.CharFilter(field_name="thread_key")
    sent_from = django_filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_to = django_filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = EmailMessage
        fields = ["direction", "mailbox", "contact", "lead", "thread"]


class EmailMessageViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Emails of the clients the user can see (read-only). The list leaves the bodies out;
    the detail has them (`html_body` is the sender's HTML, unsanitised: never render it)."""

    filterset_class = EmailMessageFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.OrderingFilter,
        filters.SearchFilter,
    ]
    search_fields = ["subject", "from_address", "from_name"]
    ordering_fields = ["sent_at", "received_at", "size"]
    ordering = ["-sent_at", "-id"]

    def get_queryset(self):
        return selectors.email_messages_visible(self.request.user).prefetch_related("attachments")

    def get_serializer_class(self):
        return EmailMessageDetailOutput if self.action == "retrieve" else EmailMessageOutput

    def retrieve(self, request, *args, **kwargs):
        message = selectors.email_message_get(request.user, kwargs["pk"])
        return Response(EmailMessageDetailOutput(message).data)


router = routers.SimpleRouter()
router.register("mailboxes", MailboxViewSet, basename="mailbox")
router.register("mail-messages", EmailMessageViewSet, basename="mail-message")
