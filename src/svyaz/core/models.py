"""Shared building blocks: the owned-record base, tags, custom fields, the timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LiveManager(models.Manager):
    """Hides soft-deleted records; `all_objects` still sees them (recycle bin, audit)."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class OwnedModel(models.Model):
    """Every business record: owner, department, timestamps, soft delete, custom fields.

    Access scopes, the audit and the recycle bin stand on these columns.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects = LiveManager()
    all_objects = models.Manager()  # noqa: DJ012 - the second of two managers

    class Meta:
        abstract = True


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    color = models.CharField(_("color"), max_length=16, default="secondary")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomFieldEntity(models.TextChoices):
    COMPANY = "company", _("Company")
    CONTACT = "contact", _("Contact")
    LEAD = "lead", _("Lead")
    DEAL = "deal", _("Deal")
    ORDER = "order", _("Order")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multichoice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    MONEY = "money", _("Money")


class CustomField(models.Model):
    """An administrator-defined field. Values live in the record's `custom` JSON column,
    validated against these definitions, so a new field needs no migration."""

    entity = models.CharField(_("entity"), max_length=16, choices=CustomFieldEntity.choices)
    code = models.SlugField(_("code"), max_length=48)
    label = models.CharField(_("label"), max_length=128)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    show_in_list = models.BooleanField(_("show in lists"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["entity", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "code"], name="customfield_entity_code_uniq")
        ]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return f"{self.get_entity_display()}: {self.label}"


class TimelineKind(models.TextChoices):
    ACTIVITY = "activity", _("Activity")
    FOLLOWUP = "followup", _("Task")
    DEAL = "deal", _("Deal")
    STAGE = "stage", _("Stage change")
    ORDER = "order", _("Order")
    CHANGE = "change", _("Field change")
    LEAD = "lead", _("Lead")


class TimelineEntry(models.Model):
    """One row per event in a client's history.

    The card's 360° timeline is one indexed read by (subject, time), never several
    queries merged in Python. Services write these rows in the same transaction as
    the change they describe.
    """

    kind = models.CharField(_("type"), max_length=16, choices=TimelineKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    company = models.ForeignKey(
        "contacts.Company", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    deal = models.ForeignKey(
        "sales.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # What the entry is about, for links: ("activity", 12), ("order", 7)...
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("details"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="timeline_contact_idx"),
            models.Index(fields=["company", "-occurred_at", "-id"], name="timeline_company_idx"),
            models.Index(fields=["deal", "-occurred_at", "-id"], name="timeline_deal_idx"),
            models.Index(fields=["object_type", "object_id"], name="timeline_object_idx"),
        ]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A user's named list view: the query string of filters, search and sort."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    entity = models.CharField(max_length=32)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "entity", "name"], name="savedview_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """Ledger of finished background jobs, keyed by an idempotency key.

    A job's effect and its ledger row are committed in one transaction (core.jobs), so a
    worker killed mid-job leaves nothing behind and the redelivered job runs again, while a
    job that finished but whose acknowledgement was lost is skipped on redelivery.
    """

    key = models.CharField(max_length=200, unique=True)
    task = models.CharField(max_length=200)
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("finished job")
        verbose_name_plural = _("finished jobs")

    def __str__(self) -> str:
        return self.key


# The job outbox (jobs kept while the queue is down) lives with its code.
from svyaz.core.outbox import OutboxMessage  # noqa: E402, F401
