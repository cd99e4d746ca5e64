from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from svyaz.contacts.models import Company, Contact, Source
from svyaz.core.models import OwnedModel, Tag

MONEY = {"max_digits": 16, "decimal_places": 2}


def currency_field(**kwargs):
    return models.CharField(_("currency"), max_length=3, default="RUB", **kwargs)


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WEB = "web", _("Website")
    CHAT = "chat", _("Chat")
    MESSENGER = "messenger", _("Messenger")
    SOCIAL = "social", _("Social network")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


class Lead(OwnedModel):
    """An incoming request, before it becomes a contact, a company and a deal."""

    title = models.CharField(_("request"), max_length=255)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    company_inn = models.CharField(_("company INN"), max_length=12, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    utm_source = models.CharField("utm_source", max_length=128, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=128, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=128, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="leads")
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    deal = models.ForeignKey(
        "Deal",
        verbose_name=_("deal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_idx"),
        ]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return self.title


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=128)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=128)
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(
        _("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN
    )
    probability = models.PositiveSmallIntegerField(
        _("probability, %"), default=10, validators=[MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["pipeline", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=128, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=255)
    sku = models.CharField(_("SKU"), max_length=64, blank=True, db_index=True)
    unit = models.CharField(_("unit"), max_length=16, default="pcs")
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = currency_field()
    is_active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class PriceList(models.Model):
    name = models.CharField(_("name"), max_length=128)
    currency = currency_field()
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_items")
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelistitem_uniq")
        ]
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")

    def __str__(self) -> str:
        return f"{self.product}: {self.price}"


class Deal(OwnedModel):
    title = models.CharField(_("title"), max_length=255)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    # Only sales.services.deal_stage_change() sets this after creation.
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    amount = models.DecimalField(
        _("amount"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = currency_field()
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability, %"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.SET_NULL, null=True, blank=True
    )
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), on_delete=models.PROTECT, null=True, blank=True
    )
    lost_comment = models.CharField(_("lost comment"), max_length=500, blank=True)
    stage_changed_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    is_repeat = models.BooleanField(_("repeat sale"), default=False)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="deals")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "stage", "-created_at"], name="deal_board_idx"),
            models.Index(
                fields=["pipeline", "stage", "-stage_changed_at", "-id"],
                name="deal_board_stage_idx",
            ),
            models.Index(fields=["owner", "-created_at"], name="deal_owner_idx"),
            models.Index(fields=["contact"], name="deal_contact_idx"),
            models.Index(fields=["company"], name="deal_company_idx"),
        ]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")

    def __str__(self) -> str:
        return self.title


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=255)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    discount_percent = models.DecimalField(
        _("discount, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.price
        return (gross * (Decimal("100") - self.discount_percent) / Decimal("100")).quantize(
            Decimal("0.01")
        )


class DealStageChange(models.Model):
    """Written on every move: the funnel, time-in-stage and where deals fail are
    computed from these rows, never guessed."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    seconds_in_from = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["deal", "changed_at"], name="stagechange_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class BoardTotal(models.Model):
    """The board's per-column counts and totals of live deals, as rows of changes.

    Written only by database triggers on sales_deal (migration 0004: every write path —
    services, imports, bulk SQL, the generator's COPY, the recycle bin — goes through
    them, in the writing transaction). Each row adds `n` deals and `total` money to
    (pipeline, stage, currency); the board sums a pipeline's rows (a handful, see
    selectors.board_totals), so the figures are exact at any moment. Reading compacts the
    rows of a pipeline when they pile up (services.board_totals_compact).
    Plain id columns, no foreign keys: rows of a deleted stage or pipeline sum to zero.
    """

    pipeline_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    n = models.BigIntegerField()
    total = models.DecimalField(max_digits=24, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["pipeline_id"], name="boardtotal_pipeline_idx")]

    def __str__(self) -> str:
        return f"{self.pipeline_id}/{self.stage_id} {self.currency}: {self.n}, {self.total}"


class OrderStatus(models.TextChoices):
    NEW = "new", _("New")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Order(OwnedModel):
    """A sale: what RFM, lifetime value, churn and repeat-sale figures read."""

    number = models.CharField(_("number"), max_length=32, blank=True, db_index=True)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    deal = models.ForeignKey(
        Deal,
        verbose_name=_("deal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    ordered_at = models.DateTimeField(_("date"), default=timezone.now)
    amount = models.DecimalField(
        _("amount"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = currency_field()
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.NEW
    )
    external_id = models.CharField(_("external id"), max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-ordered_at"], name="order_contact_idx"),
            models.Index(fields=["company", "-ordered_at"], name="order_company_idx"),
            models.Index(fields=["-ordered_at", "-id"], name="order_date_idx"),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=255)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    price = models.DecimalField(_("price"), **MONEY, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.price).quantize(Decimal("0.01"))
