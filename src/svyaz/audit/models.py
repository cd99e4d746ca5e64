"""The audit trail and the log of refused accesses.

`AuditEntry` rows are append-only: the model refuses to update or delete a row, its
queryset refuses update() and delete(), the admin is read-only, the API has no write
endpoint and on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002). The one
change allowed is Django's own SET_NULL of `actor` when a user is deleted: the name stays
in `actor_name`.

One row per changed field per save:
- create: one row per non-empty field (old_value NULL, new_value the value);
- update: one row per field whose value changed (never one for an unchanged field);
- delete (soft delete, `deleted_at` set), restore, purge (the row is removed for good) and
  delete of records without a recycle bin: one row with `field` empty; for purge/delete
  `old_value` holds the last values as a JSON object.
Values are text: scalars as text (dates ISO 8601, booleans true/false), lists and objects
as JSON. For foreign keys the value is the id and `old_display`/`new_display` the name
the record had then. Custom fields get one row each, named `custom.<code>`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class AuditSource(models.TextChoices):
    PAGE = "page", _("Page")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    JOB = "job", _("Background job")
    AUTOMATION = "automation", _("Automation")
    SYSTEM = "system", _("System")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    PURGE = "purge", _("Removed for good")
    MERGE = "merge", _("Merged")


class ImmutableError(Exception):
    """An attempt to change or remove an audit row."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # Deleting a user sets `actor` to NULL (on_delete=SET_NULL): the only change allowed.
        if set(kwargs) <= {"actor", "actor_id"} and all(v is None for v in kwargs.values()):
            return super().update(**kwargs)
        raise ImmutableError("Audit entries cannot be changed.")

    def delete(self):
        raise ImmutableError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    at = models.DateTimeField(_("when"), db_default=Now(), db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("who"), max_length=255, blank=True)
    source = models.CharField(_("through"), max_length=16, choices=AuditSource.choices)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    # Not a foreign key to the record: its rows outlive it (purge).
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.BigIntegerField(_("record id"))
    object_repr = models.CharField(_("record"), max_length=255, blank=True)
    field = models.CharField(_("field"), max_length=100, blank=True)
    old_value = models.TextField(_("old value"), null=True, blank=True)
    new_value = models.TextField(_("new value"), null=True, blank=True)
    old_display = models.CharField(max_length=255, blank=True)
    new_display = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    path = models.CharField(_("address"), max_length=255, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_idx"),
        ]
        default_permissions = ("view",)
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")

    def __str__(self) -> str:
        return f"{self.action} {self.content_type_id}:{self.object_id} {self.field}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("Audit entries cannot be deleted.")


class AccessDenial(models.Model):
    """A refused access: who tried what on which record, and why (core.scoping.require
    calls svyaz.audit.denials.log_denial)."""

    at = models.DateTimeField(_("when"), db_default=Now(), db_index=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user_name = models.CharField(_("who"), max_length=255, blank=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    path = models.CharField(_("address"), max_length=255, blank=True)
    entity = models.CharField(_("entity"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=32, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    source = models.CharField(_("through"), max_length=16, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"], name="denial_user_idx")]
        default_permissions = ("view",)
        verbose_name = _("access denial")
        verbose_name_plural = _("access denials")

    def __str__(self) -> str:
        return f"{self.user_name}: {self.action} {self.entity} {self.object_id}".strip()
