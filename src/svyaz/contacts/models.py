from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from svyaz.core.models import OwnedModel, Tag


class Source(models.TextChoices):
    WEBSITE = "website", _("Website")
    WEB_FORM = "web_form", _("Web form")
    CALL = "call", _("Phone call")
    EMAIL = "email", _("Email")
    REFERRAL = "referral", _("Referral")
    SOCIAL = "social", _("Social network")
    EXHIBITION = "exhibition", _("Exhibition")
    ADVERTISING = "advertising", _("Advertising")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Company(OwnedModel):
    name = models.CharField(_("name"), max_length=255)
    legal_name = models.CharField(_("legal name"), max_length=255, blank=True)
    country = models.CharField(_("country"), max_length=2, default="RU", blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True, db_index=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True, db_index=True)
    industry_code = models.CharField(_("industry code"), max_length=16, blank=True)
    website = models.URLField(_("website"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, blank=True)
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="companies")

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="company_name_idx"),
            models.Index(fields=["owner", "name"], name="company_owner_idx"),
            models.Index(fields=["department", "name"], name="company_dept_idx"),
        ]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Contact(OwnedModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # Kept by contact services: "Last First Middle", the sort and search key.
    full_name = models.CharField(_("name"), max_length=320, editable=False)
    job_title = models.CharField(_("job title"), max_length=128, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, blank=True)
    description = models.TextField(_("description"), blank=True)
    companies = models.ManyToManyField(
        Company,
        through="ContactCompany",
        verbose_name=_("companies"),
        blank=True,
        related_name="contacts",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="contacts")

    class Meta:
        ordering = ["full_name", "id"]
        indexes = [
            models.Index(fields=["full_name", "id"], name="contact_name_idx"),
            models.Index(fields=["owner", "full_name"], name="contact_owner_idx"),
            models.Index(fields=["department", "full_name"], name="contact_dept_idx"),
        ]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.full_name or "—"

    def compose_full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p).strip()


class ContactCompany(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=128, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "company"], name="contactcompany_uniq")
        ]
        verbose_name = _("company membership")
        verbose_name_plural = _("company memberships")

    def __str__(self) -> str:
        return f"{self.contact} @ {self.company}"


class _ChannelOwner(models.Model):
    """A phone, email or address belongs to exactly one contact or one company."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss"
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss"
    )

    class Meta:
        abstract = True


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    WORK = "work", _("Work")
    HOME = "home", _("Home")
    OTHER = "other", _("Other")


class Phone(_ChannelOwner):
    number = models.CharField(
        _("phone"), max_length=32, db_index=True, help_text=_("E.164, e.g. +79161234567")
    )
    # Digits only, national part last: lets "8 916 ..." and "+7 916 ..." find the same row.
    digits = models.CharField(max_length=20, db_index=True, editable=False)
    kind = models.CharField(
        _("type"), max_length=8, choices=PhoneKind.choices, default=PhoneKind.MOBILE
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="phone_one_owner",
            )
        ]
        verbose_name = _("phone")
        verbose_name_plural = _("phones")

    def __str__(self) -> str:
        return self.number


class EmailKind(models.TextChoices):
    WORK = "work", _("Work")
    PERSONAL = "personal", _("Personal")
    OTHER = "other", _("Other")


class Email(_ChannelOwner):
    email = models.EmailField(_("email"), db_index=True)
    kind = models.CharField(
        _("type"), max_length=8, choices=EmailKind.choices, default=EmailKind.WORK
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="email_one_owner",
            )
        ]
        verbose_name = _("email")
        verbose_name_plural = _("emails")

    def __str__(self) -> str:
        return self.email


class AddressKind(models.TextChoices):
    LEGAL = "legal", _("Legal")
    ACTUAL = "actual", _("Actual")
    DELIVERY = "delivery", _("Delivery")
    HOME = "home", _("Home")


class Address(_ChannelOwner):
    kind = models.CharField(
        _("type"), max_length=8, choices=AddressKind.choices, default=AddressKind.ACTUAL
    )
    country = models.CharField(_("country"), max_length=2, default="RU", blank=True)
    region = models.CharField(_("region"), max_length=128, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True, db_index=True)
    street = models.CharField(_("street address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="address_one_owner",
            )
        ]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return ", ".join(p for p in (self.postal_code, self.region, self.city, self.street) if p)


class LifecycleStatus(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    REPEAT = "repeat", _("Repeat customer")
    INACTIVE = "inactive", _("Inactive")


class ClientSummary(models.Model):
    """Per-client figures kept current by sales services, so that lists and segments
    filter on them without aggregating millions of orders per page."""

    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="summary"
    )
    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="summary"
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=LifecycleStatus.choices,
        default=LifecycleStatus.LEAD,
        db_index=True,
    )
    orders_count = models.PositiveIntegerField(_("purchases"), default=0)
    revenue = models.DecimalField(
        _("total spent"), max_digits=16, decimal_places=2, default=Decimal("0")
    )
    average_check = models.DecimalField(
        _("average check"), max_digits=16, decimal_places=2, default=Decimal("0")
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(
        _("last purchase"), null=True, blank=True, db_index=True
    )
    open_deals = models.PositiveIntegerField(_("open deals"), default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="summary_one_owner",
            )
        ]
        verbose_name = _("client summary")
        verbose_name_plural = _("client summaries")

    def __str__(self) -> str:
        return f"{self.contact or self.company}: {self.status}"
