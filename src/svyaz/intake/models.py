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
    """An assignment rule: which requests (channel/source) go to which managers, and how.

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
