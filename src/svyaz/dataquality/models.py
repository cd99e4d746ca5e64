"""Imports: the job, its per-row errors, what it wrote (for undo), mapping templates, and
the external ids of imported records (the "update by external id" key)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportEntity(models.TextChoices):
    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")
    ORDER = "order", _("Orders (sales history)")
    LEAD = "lead", _("Leads")
    DEAL = "deal", _("Deals (with their history)")
    ACTIVITY = "activity", _("Activities (calls, emails, meetings…)")
    PRODUCT = "product", _("Products")


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
    TITLE = "title", _("Deal title (and client)")
    SKU = "sku", _("SKU / product code")


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


# --- merge of duplicates (dataquality/merge.py) ------------------------------------------


class MergeEntity(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")


class Merge(models.Model):
    """One merge of two duplicate contacts or companies, with everything its undo needs.

    The other record is soft-deleted. While `undone_at` is empty this row is its
    "merged into" pointer (the contact and company tables stay as they are). Ids, not
    foreign keys: the recycle bin may purge the merged record, the history stays.
    """

    entity = models.CharField(_("records"), max_length=8, choices=MergeEntity.choices)
    survivor_id = models.BigIntegerField(_("kept record"))
    other_id = models.BigIntegerField(_("merged record"))
    survivor_name = models.CharField(_("kept record"), max_length=320, blank=True)
    other_name = models.CharField(_("merged record"), max_length=320, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("merged"), default=timezone.now)
    # {"<field>" or "custom.<code>": "survivor" | "other"} as the user chose them.
    choices = models.JSONField(default=dict, blank=True)
    # The survivor's fields the merge changed: their value before and the value it set.
    survivor_before = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    survivor_after = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # Every row moved to the survivor: [{"model", "pk", "field", "extra"}]; `extra` holds
    # other columns the move changed (a moved primary phone stops being primary).
    moved = models.JSONField(default=list, blank=True)
    other_deleted_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the undo could not put back: {"kept_fields": [...], "rows_left": n}.
    undo_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["entity", "other_id"], name="merge_other_idx"),
            models.Index(fields=["entity", "survivor_id"], name="merge_survivor_idx"),
        ]
        constraints = [
            # A record is merged into one other record at a time.
            models.UniqueConstraint(
                fields=["entity", "other_id"],
                condition=models.Q(undone_at__isnull=True),
                name="merge_other_once",
            ),
        ]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")

    def __str__(self) -> str:
        return f"{self.entity}: {self.other_name} → {self.survivor_name}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


# --- duplicate finder (dataquality/dedup/) -------------------------------------------------


class DuplicateEntity(models.TextChoices):
    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicatePair(models.Model):
    """Two records the duplicate scan found alike, and what a person decided about them.

    `a_id` < `b_id` are ids of contacts or companies (by `entity`; ids, not foreign keys: a
    pair outlives a merge, and "not a duplicate" must be remembered for good). The scan
    refreshes open pairs, never reopens a dismissed or merged one."""

    entity = models.CharField(_("records"), max_length=8, choices=DuplicateEntity.choices)
    a_id = models.BigIntegerField()
    b_id = models.BigIntegerField()
    score = models.FloatField(_("score"))
    # {"<field>": similarity in [0, 1]} for the fields both records have.
    reasons = models.JSONField(_("reasons"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "a_id", "b_id"], name="duplicatepair_uniq"),
            models.CheckConstraint(
                condition=models.Q(a_id__lt=models.F("b_id")), name="duplicatepair_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "status", "-score"], name="duplicatepair_queue_idx"),
            models.Index(fields=["entity", "b_id"], name="duplicatepair_b_idx"),
        ]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")

    def __str__(self) -> str:
        return f"{self.entity} {self.a_id} ~ {self.b_id} ({self.score:.2f})"


class DedupSettings(models.Model):
    """The organization's duplicate settings: one row (pk=1), see `DedupSettings.load()`."""

    review_threshold = models.FloatField(
        _("list pairs scoring at least"),
        default=0.7,
        help_text=_("From 0 to 1. Pairs below this are not shown for review."),
    )
    auto_merge = models.BooleanField(_("merge automatically"), default=False)
    auto_merge_threshold = models.FloatField(
        _("merge automatically at a score of at least"),
        default=0.97,
        help_text=_(
            "From 0 to 1. The scan merges such pairs without asking; the older record is kept."
        ),
    )
    last_scan_at = models.DateTimeField(_("last scan"), null=True, blank=True)
    last_scan_report = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("duplicate settings")
        verbose_name_plural = _("duplicate settings")

    def __str__(self) -> str:
        return str(_("duplicate settings"))

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        for name in ("review_threshold", "auto_merge_threshold"):
            value = getattr(self, name)
            if value is None or not 0 <= value <= 1:
                errors[name] = [_("Enter a number from 0 to 1.")]
        if not errors and self.auto_merge and self.auto_merge_threshold < self.review_threshold:
            errors["auto_merge_threshold"] = [
                _("The automatic merge threshold cannot be below the review threshold.")
            ]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> DedupSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj
