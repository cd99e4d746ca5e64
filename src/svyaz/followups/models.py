from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from svyaz.core.models import OwnedModel


class FollowupKind(models.TextChoices):
    TASK = "task", _("Task")
    CALLBACK = "callback", _("Callback")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class FollowupStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Followup(OwnedModel):
    """A task for an employee, or a callback promised to a client."""

    kind = models.CharField(
        _("type"), max_length=8, choices=FollowupKind.choices, default=FollowupKind.TASK
    )
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="followups",
    )
    due_at = models.DateTimeField(_("due"))
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=FollowupStatus.choices, default=FollowupStatus.OPEN
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followups",
    )
    company = models.ForeignKey(
        "contacts.Company",
        verbose_name=_("company"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followups",
    )
    deal = models.ForeignKey(
        "sales.Deal",
        verbose_name=_("deal"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followups",
    )
    source_activity = models.ForeignKey(
        "activities.Activity",
        verbose_name=_("from activity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followups",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="followup_myday_idx"),
            # My day's "done today" counter: bounded by the day, not by years of done tasks.
            models.Index(
                fields=["assignee", "completed_at"],
                name="followup_done_idx",
                condition=Q(status="done"),
            ),
            models.Index(
                fields=["remind_at"],
                name="followup_remind_idx",
                condition=Q(status="open", reminded_at__isnull=True, remind_at__isnull=False),
            ),
        ]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == FollowupStatus.OPEN and self.due_at < timezone.now()


class Notification(models.Model):
    """An in-app message for one user (reminders, assignments)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(_("text"), max_length=500)
    url = models.CharField(max_length=300, blank=True)
    followup = models.ForeignKey(
        Followup, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_idx")
        ]
        constraints = [
            # A reminder notifies once per task and user, even if the job runs twice.
            models.UniqueConstraint(fields=["user", "followup"], name="notification_followup_once")
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.text
