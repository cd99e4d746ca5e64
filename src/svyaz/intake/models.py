"""Intake: web forms, telephony and the routing of what comes in to a manager.

A submission or a call event is stored as it arrived before anything else happens, so a
failure later (the job queue down, a bug) never loses it; processing is idempotent.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from svyaz.sales.models import Channel


def new_form_key() -> str:
    return secrets.token_urlsafe(12)


class RoutingStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class RoutingGroup(models.Model):
    """An assignment rule: which requests (channel/source/region/language) go to which
    managers, and how. A request that does not meet every condition goes to the next rule.

    Working hours: a list of [weekday (0 = Monday), "HH:MM", "HH:MM"] windows in the
    company time zone (settings.TIME_ZONE); an empty list means "always"."""

    name = models.CharField(_("name"), max_length=128)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    channels = models.JSONField(
        _("channels"), default=list, blank=True, help_text=_("Empty: any channel.")
    )
    sources = models.JSONField(
        _("sources"), default=list, blank=True, help_text=_("Empty: any source.")
    )
    regions = models.JSONField(
        _("regions"),
        default=list,
        blank=True,
        help_text=_(
            '["RU-MOW", "RU-MOS", "KZ"]: a country or an ISO 3166-2 region, taken from the '
            "form's city/region field or the phone number. Empty: any region."
        ),
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        help_text=_(
            '["ru", "en"]: the visitor\'s language (form field or browser). Empty: any language.'
        ),
    )
    strategy = models.CharField(
        _("strategy"),
        max_length=16,
        choices=RoutingStrategy.choices,
        default=RoutingStrategy.ROUND_ROBIN,
    )
    working_hours = models.JSONField(
        _("working hours"),
        default=list,
        blank=True,
        help_text=_('[[0, "09:00", "18:00"], …] — weekday (0 = Monday), from, to. Empty: always.'),
    )
    fallback_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fallback user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Round-robin cursor: the id of the member who got the last request. Updated
    # under select_for_update on this row, so concurrent intakes never pick the same turn.
    cursor = models.IntegerField(default=-1, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name


class RoutingMember(models.Model):
    group = models.ForeignKey(RoutingGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    working_hours = models.JSONField(
        _("working hours"),
        default=list,
        blank=True,
        help_text=_("Empty: the group's hours."),
    )

    class Meta:
        ordering = ["group", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="intake_member_unique"),
        ]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return str(self.user)


class ResponseSla(models.Model):
    """First-response time promised per channel."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, unique=True)
    minutes = models.PositiveIntegerField(_("first response, minutes"), default=60)

    class Meta:
        ordering = ["channel"]
        verbose_name = _("first-response SLA")
        verbose_name_plural = _("first-response SLAs")

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.minutes}"


class WebForm(models.Model):
    """A form for a website. `fields`: a list of
    {"name": "phone", "label": "Phone", "target": "phone", "required": true, "type": "tel"};
    target is a lead field (title, first_name, last_name, phone, email, company_name,
    description) or "custom:<code>" for a custom field of leads."""

    name = models.CharField(_("name"), max_length=128)
    key = models.SlugField(_("public key"), max_length=64, unique=True, default=new_form_key)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    title_template = models.CharField(
        _("lead title"),
        max_length=255,
        blank=True,
        help_text=_("Used when no field maps to the title. Default: the form's name."),
    )
    consent_text = models.TextField(
        _("consent text"), blank=True, help_text=_("Empty: no consent checkbox.")
    )
    success_message = models.CharField(
        _("success message"), max_length=500, default=_("Thank you! We will contact you soon.")
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_('["https://example.com"]. Empty: any site.'),
    )
    honeypot_field = models.CharField(_("honeypot field"), max_length=64, default="homepage")
    routing_group = models.ForeignKey(
        RoutingGroup,
        verbose_name=_("routing rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the first rule matching channel and source."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    SPAM = "spam", _("Spam")
    INVALID = "invalid", _("Invalid")


class Submission(models.Model):
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    referrer = models.CharField(_("referrer"), max_length=1000, blank=True)
    landing_page = models.CharField(_("landing page"), max_length=1000, blank=True)
    utm = models.JSONField(_("UTM tags"), default=dict, blank=True)
    # The browser's language (navigator.language sent by the embed script, else the
    # Accept-Language header), kept with the submission for routing when it is processed.
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SubmissionStatus.choices,
        default=SubmissionStatus.RECEIVED,
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    error = models.TextField(_("error"), blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="intake_sub_status_idx")]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")

    def __str__(self) -> str:
        return f"{self.form} #{self.pk}"


class ProviderKind(models.TextChoices):
    GENERIC = "generic", _("Generic (signed JSON)")
    ZADARMA = "zadarma", _("Zadarma")


class TelephonyProvider(models.Model):
    name = models.SlugField(_("name"), max_length=64, unique=True, help_text=_("Used in the URL."))
    kind = models.CharField(
        _("kind"), max_length=16, choices=ProviderKind.choices, default=ProviderKind.GENERIC
    )
    secret = models.CharField(_("secret"), max_length=255)
    active = models.BooleanField(_("active"), default=True)
    routing_group = models.ForeignKey(
        RoutingGroup,
        verbose_name=_("routing rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("telephony provider")
        verbose_name_plural = _("telephony providers")

    def __str__(self) -> str:
        return self.name


class CallDirection(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class CallStatus(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    MISSED = "missed", _("Missed")


class CallEvent(models.Model):
    provider = models.ForeignKey(TelephonyProvider, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(_("event id"), max_length=128)
    direction = models.CharField(_("direction"), max_length=3, choices=CallDirection.choices)
    status = models.CharField(_("status"), max_length=10, choices=CallStatus.choices)
    caller = models.CharField(_("caller"), max_length=64, blank=True)
    callee = models.CharField(_("callee"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"))
    duration_seconds = models.PositiveIntegerField(_("duration, s"), default=0)
    recording_url = models.URLField(_("recording"), max_length=1000, blank=True)
    raw = models.JSONField(_("raw event"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activity = models.ForeignKey(
        "activities.Activity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="intake_call_event_once"),
        ]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class LeadIntake(models.Model):
    """How a lead came in (the customer journey reads it) and its first-response SLA."""

    lead = models.OneToOneField("sales.Lead", on_delete=models.CASCADE, related_name="intake")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"))
    referrer = models.CharField(_("referrer"), max_length=1000, blank=True)
    landing_page = models.CharField(_("landing page"), max_length=1000, blank=True)
    utm = models.JSONField(_("UTM tags"), default=dict, blank=True)
    # Detected at intake (svyaz.intake.regions): "RU-MOW", "RU", "KZ"… and "ru", "en"….
    region = models.CharField(_("region"), max_length=10, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    routed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    sla_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response = models.ForeignKey(
        "followups.Followup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("existing contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lead intake")
        verbose_name_plural = _("lead intakes")

    def __str__(self) -> str:
        return f"{self.lead_id}"

    @property
    def sla_overdue(self) -> bool:
        """The first response is still open and its due time has passed."""
        task = self.first_response
        return bool(
            task is not None
            and task.status == "open"
            and self.sla_due_at is not None
            and self.sla_due_at < timezone.now()
        )


# --- Mailboxes (IMAP in, SMTP out) -------------------------------------------------------


class Mailbox(models.Model):
    """A mailbox Svyaz reads over IMAP and sends from over SMTP.

    `uidvalidity` + `last_uid` are the import high-water mark: a message is imported and
    the mark moved in one transaction, so a poller killed at any point neither loses nor
    repeats a message. Passwords are stored for the poller's use and never shown back."""

    name = models.CharField(_("name"), max_length=128)
    from_address = models.EmailField(_("from address"))
    from_name = models.CharField(_("sender name"), max_length=128, blank=True)
    imap_host = models.CharField(_("IMAP server"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over SSL/TLS"), default=True)
    imap_username = models.CharField(_("IMAP user name"), max_length=255, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=255, blank=True)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_starttls = models.BooleanField(_("SMTP STARTTLS"), default=True)
    smtp_ssl = models.BooleanField(_("SMTP over SSL/TLS"), default=False)
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    smtp_password = models.CharField(_("SMTP password"), max_length=255, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Gets mail of clients whose own manager is away. Empty: routing decides."),
    )
    routing_group = models.ForeignKey(
        RoutingGroup,
        verbose_name=_("routing rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For leads from unknown senders. Empty: the first rule for email."),
    )
    active = models.BooleanField(_("active"), default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.name} <{self.from_address}>"


class MailDirection(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class EmailMessage(models.Model):
    """One email, incoming or sent, once per mailbox (unique Message-ID)."""

    # PROTECT: a mailbox with history is switched off, not deleted with its mail.
    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), on_delete=models.PROTECT, related_name="messages"
    )
    message_id = models.CharField(_("Message-ID"), max_length=255)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    references = models.TextField(_("References"), blank=True)
    # The Message-ID of the thread's first message: every message of a thread shares it.
    thread_key = models.CharField(_("thread"), max_length=255, db_index=True)
    direction = models.CharField(_("direction"), max_length=3, choices=MailDirection.choices)
    from_address = models.CharField(_("from"), max_length=320, blank=True)
    from_name = models.CharField(_("sender name"), max_length=255, blank=True)
    to = models.JSONField(_("to"), default=list, blank=True)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    text_body = models.TextField(_("text"), blank=True)
    # Kept as received; pages show it as text only (never rendered as HTML).
    html_body = models.TextField(_("HTML"), blank=True)
    sent_at = models.DateTimeField(_("date"), db_index=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    size = models.PositiveIntegerField(_("size, bytes"), default=0)
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    deal = models.ForeignKey(
        "sales.Deal",
        verbose_name=_("deal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    activity = models.ForeignKey(
        "activities.Activity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "message_id"], name="intake_email_message_id_once"
            ),
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=models.Q(imap_uid__isnull=False),
                name="intake_email_uid_once",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "-sent_at"], name="intake_email_contact_idx"),
            models.Index(fields=["lead", "-sent_at"], name="intake_email_lead_idx"),
        ]
        verbose_name = _("email")
        verbose_name_plural = _("emails")

    def __str__(self) -> str:
        return self.subject or self.message_id


def mail_attachment_path(instance, filename: str) -> str:
    return timezone.now().strftime("mail/%Y/%m/") + filename


class EmailAttachment(models.Model):
    message = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveIntegerField(_("size, bytes"), default=0)
    # Empty when the attachment was over the size limit: it stays on the mail server.
    file = models.FileField(_("file"), upload_to=mail_attachment_path, max_length=500, blank=True)

    class Meta:
        ordering = ["message", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename

    @property
    def stored(self) -> bool:
        return bool(self.file)


class EmailTemplate(models.Model):
    """Subject and text with merge fields such as {{ contact.first_name }} (see
    intake.mail.merge for the list: a fixed set, not the template language)."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")

    def __str__(self) -> str:
        return self.name


class QuarantineReason(models.TextChoices):
    MALFORMED = "malformed", _("Malformed")
    OVERSIZED = "oversized", _("Too large")
    FAILED = "failed", _("Import failed")


def mail_quarantine_path(instance, filename: str) -> str:
    return timezone.now().strftime("mail/quarantine/%Y/%m/") + filename


class MailQuarantine(models.Model):
    """A message the poller could not import. It is kept here (the raw message, or for an
    oversized one its headers; the message itself stays on the server) and the poller
    moves on, so one bad message never blocks the mailbox."""

    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), on_delete=models.CASCADE, related_name="quarantine"
    )
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=QuarantineReason.choices)
    error = models.TextField(_("error"), blank=True)
    size = models.PositiveIntegerField(_("size, bytes"), default=0)
    from_header = models.CharField(_("from"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    digest = models.CharField(max_length=64, blank=True, db_index=True)
    raw = models.FileField(_("message"), upload_to=mail_quarantine_path, max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    message = models.ForeignKey(
        EmailMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=models.Q(imap_uid__isnull=False),
                name="intake_quarantine_uid_once",
            ),
        ]
        verbose_name = _("quarantined email")
        verbose_name_plural = _("quarantined emails")

    def __str__(self) -> str:
        return f"{self.mailbox}: {self.subject or self.pk}"


# --- Messages and the website chat (svyaz.intake.chat) -----------------------------------


class MessageSource(models.Model):
    """A messenger or social-network integration (a bot, a gateway) that posts incoming
    messages to /api/v1/intake/messages/, signed with `secret` like the generic telephony
    webhook and naming itself in the X-Svyaz-Source header."""

    name = models.SlugField(
        _("name"), max_length=64, unique=True, help_text=_("Sent in the X-Svyaz-Source header.")
    )
    network = models.CharField(
        _("network"), max_length=64, help_text=_("Telegram, WhatsApp, VK… (shown to operators).")
    )
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=[
            (Channel.MESSENGER, Channel.MESSENGER.label),
            (Channel.SOCIAL, Channel.SOCIAL.label),
        ],
        default=Channel.MESSENGER,
    )
    secret = models.CharField(_("secret"), max_length=255)
    reply_url = models.URLField(
        _("reply URL"),
        max_length=1000,
        blank=True,
        help_text=_("Operators' answers are posted here, signed. Empty: answers stay in Svyaz."),
    )
    routing_group = models.ForeignKey(
        RoutingGroup,
        verbose_name=_("routing rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("message source")
        verbose_name_plural = _("message sources")

    def __str__(self) -> str:
        return self.name


class ChatWidget(models.Model):
    """The chat for a website: `<script src=".../intake/chat/widget.js" data-key="KEY">`."""

    name = models.CharField(_("name"), max_length=128)
    key = models.SlugField(_("public key"), max_length=64, unique=True, default=new_form_key)
    title = models.CharField(_("title"), max_length=128, default=_("Chat with us"))
    greeting = models.TextField(_("greeting"), blank=True, default=_("Hello! How can we help you?"))
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_('["https://example.com"]. Empty: any site.'),
    )
    routing_group = models.ForeignKey(
        RoutingGroup,
        verbose_name=_("routing rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the first rule matching the chat channel."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("chat widget")
        verbose_name_plural = _("chat widgets")

    def __str__(self) -> str:
        return self.name


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class MessageDirection(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class Conversation(models.Model):
    """One per client and channel: a website visitor's chat, or a sender on a messenger.

    Access follows the "activities" grants (owner = the manager it was routed to)."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    source = models.ForeignKey(
        MessageSource,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
    )
    widget = models.ForeignKey(
        ChatWidget,
        verbose_name=_("chat widget"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
    )
    # The sender's id in the source's network (a Telegram chat id…).
    external_id = models.CharField(_("sender id"), max_length=128, blank=True)
    # SHA-256 of the visitor's token (the widget keeps the token in the browser).
    visitor_key = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # The visitor's language (the widget's navigator.language / Accept-Language, or the
    # messenger's language code): routing reads it when the conversation gets a manager.
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=ConversationStatus.choices,
        default=ConversationStatus.OPEN,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)
    last_direction = models.CharField(
        max_length=3, choices=MessageDirection.choices, default=MessageDirection.IN
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    landing_page = models.CharField(_("page"), max_length=1000, blank=True)
    referrer = models.CharField(_("referrer"), max_length=1000, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=models.Q(source__isnull=False),
                name="intake_conversation_per_sender",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-last_message_at"], name="intake_conv_open_idx"),
            models.Index(fields=["owner", "status"], name="intake_conv_owner_idx"),
            models.Index(fields=["contact", "channel"], name="intake_conv_contact_idx"),
        ]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class Message(models.Model):
    """One message of a conversation, stored before anything else happens; `processed_at`
    marks its effects (lead, timeline) done, so a failure is retried and never doubled."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(_("direction"), max_length=3, choices=MessageDirection.choices)
    body = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # "<source id>:<event id>" for messages from the messages API: the same event twice is
    # one message. Null for chat and operators' messages.
    event_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    raw = models.JSONField(_("raw event"), default=dict, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    activity = models.ForeignKey(
        "activities.Activity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Operators' answers to a messenger: handed to the source's reply URL.
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["conversation", "id"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="intake_msg_conv_idx"),
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="intake_msg_unprocessed_idx",
            ),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return self.body[:60]
