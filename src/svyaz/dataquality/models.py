"""Imports: the job, its per-row errors, what it wrote (for undo), mapping templates, and
the external ids of imported records (the "update by external id" key)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportEntity(models.TextChoices):
    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")
    ORDER = "order", _("Orders (sales history)")


class ImportMode(models.TextChoices):
    CREATE = "create", _("Create only (skip records that already exist)")
    UPDATE = "update", _("Update existing records only")
    UPSERT = "upsert", _("Create or update")


class ImportKey(models.TextChoices):
    NONE = "", _("No key (every row is a new record)")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    INN = "inn", _("Tax id (INN)")
    EXTERNAL_ID = "external_id", _("External id")
    NUMBER = "number", _("Order number")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    MAPPED = "mapped", _("Mapped")
    PREVIEWED = "previewed", _("Previewed")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDONE = "undone", _("Undone")


class FileKind(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ImportJob(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs"
    )
    entity = models.CharField(_("records"), max_length=16, choices=ImportEntity.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_kind = models.CharField(max_length=4, choices=FileKind.choices)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # {"<column index>": "<field key>"}; unmapped columns are absent or "".
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    mode = models.CharField(
        _("mode"), max_length=8, choices=ImportMode.choices, default=ImportMode.CREATE
    )
    key_field = models.CharField(
        _("match by"), max_length=16, choices=ImportKey.choices, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    message = models.TextField(_("message"), blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="importjob_user_idx")]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed * 100 // self.total_rows)


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    message = models.TextField(_("reason"))
    raw = models.JSONField(default=list, blank=True)
    chunk = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="importrowerror_job_idx")]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"


class ImportedRecord(models.Model):
    """One record an import created or changed, with what it was before: undo reads these."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    model = models.CharField(max_length=64)  # "contacts.contact", "sales.order"
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=Action.choices)
    previous = models.JSONField(default=dict, blank=True)
    row = models.PositiveIntegerField(default=0)
    chunk = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "chunk"], name="importedrecord_job_idx")]

    def __str__(self) -> str:
        return f"{self.model}#{self.object_id} {self.action}"


class ExternalKey(models.Model):
    """The id a record had in the system it was imported from."""

    model = models.CharField(max_length=64)
    external_id = models.CharField(_("external id"), max_length=128)
    object_id = models.BigIntegerField()
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "external_id"], name="externalkey_uniq")
        ]
        indexes = [models.Index(fields=["model", "object_id"], name="externalkey_obj_idx")]

    def __str__(self) -> str:
        return f"{self.model}:{self.external_id}"


class MappingTemplate(models.Model):
    name = models.CharField(_("name"), max_length=80)
    entity = models.CharField(_("records"), max_length=16, choices=ImportEntity.choices)
    # {"<normalized header>": "<field key>"}: applies to any file with the same headers.
    mapping = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mapping_templates"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "entity", "name"], name="mappingtemplate_uniq")
        ]

    def __str__(self) -> str:
        return self.name
