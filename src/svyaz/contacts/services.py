"""Every write to companies and contacts: validation, normalization, timeline, events.

Lead conversion (sales) calls `contact_create`, `company_create`, the `*_find_duplicates`
lookups and `contact_link_company`; pages and the API call the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from svyaz.audit.services import record_values
from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.access import require_create
from svyaz.core.custom_fields import clean_custom_values
from svyaz.core.events import emit
from svyaz.core.models import Tag, TimelineKind
from svyaz.core.phones import normalize_phone, phone_digits
from svyaz.core.services import require_on
from svyaz.core.timeline import field_changes, snapshot, subjects_of, timeline_add

CONTACT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "job_title",
    "birthday",
    "source",
    "description",
)
COMPANY_FIELDS = (
    "name",
    "legal_name",
    "country",
    "inn",
    "kpp",
    "tax_id",
    "industry_code",
    "website",
    "source",
    "description",
)
ADDRESS_FIELDS = ("kind", "country", "region", "city", "street", "postal_code")

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_KPP = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")


# --- normalization -------------------------------------------------------------------


def normalized_unique(raw, normalize) -> tuple[list[str], list[str]]:
    """(values of `normalize(item)` without duplicates, in the order given; error
    messages). Blank items are skipped; `normalize` raises ValidationError for a bad one.
    The one loop behind clean_phones/clean_emails and the bulk import's fast versions."""
    out: list[str] = []
    errors: list[str] = []
    for item in raw or ():
        text = (item or "").strip()
        if not text:
            continue
        try:
            value = normalize(text)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if value not in out:
            out.append(value)
    return out, errors


def email_normalized(text: str, validate=None) -> str:
    """Lower-cased address, syntax-checked (no network); ValidationError with the
    message the forms show. `validate` replaces the check (the import's shortcut)."""
    try:
        if validate is not None:
            return validate(text)
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError(_("“%(value)s” is not an email address.") % {"value": text}) from exc


def clean_phones(raw: Sequence[str] | str | None) -> list[str]:
    """E.164 numbers, without duplicates, in the order given. Raises {"phones": [...]}."""
    if isinstance(raw, str):
        raw = raw.splitlines()
    out, errors = normalized_unique(raw, normalize_phone)
    if errors:
        raise ValidationError({"phones": errors})
    return out


def clean_emails(raw: Sequence[str] | str | None) -> list[str]:
    """Lower-cased, syntax-checked (no network), without duplicates. Raises {"emails": [...]}."""
    if isinstance(raw, str):
        raw = raw.replace(",", "\n").splitlines()
    out, errors = normalized_unique(raw, email_normalized)
    if errors:
        raise ValidationError({"emails": errors})
    return out


def clean_tags(raw: Sequence[str] | str | None) -> list[str]:
    if isinstance(raw, str):
        raw = raw.split(",")
    names: list[str] = []
    for item in raw or ():
        name = " ".join(str(item).split())[:64]
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def inn_is_valid(inn: str) -> bool:
    """The Russian taxpayer number: 10 digits (organisation) or 12 (person) with checksums."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]

    def check(weights: tuple[int, ...]) -> int:
        return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

    if len(inn) == 10:
        return check(_INN10) == d[9]
    return check(_INN11) == d[10] and check(_INN12) == d[11]


def _validate_company_tax(company: Company) -> None:
    errors: dict[str, list[str]] = {}
    company.inn = (company.inn or "").strip().replace(" ", "")
    company.kpp = (company.kpp or "").strip().replace(" ", "").upper()
    company.country = (company.country or "").strip().upper()
    if company.inn and company.country in ("RU", ""):
        if not company.inn.isdigit() or len(company.inn) not in (10, 12):
            errors["inn"] = [_("INN must have 10 or 12 digits.")]
        elif not inn_is_valid(company.inn):
            errors["inn"] = [_("INN checksum does not match: check the number.")]
    if company.kpp and not _KPP.match(company.kpp):
        errors["kpp"] = [_("KPP must have 9 characters: 4 digits, 2 digits or letters, 3 digits.")]
    if errors:
        raise ValidationError(errors)


def _split_fields(fields: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    return fields


def _collect(errors: dict[str, list[str]], func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ValidationError as exc:
        for key, msgs in exc.message_dict.items():
            errors.setdefault(key, []).extend(msgs)
        return None


def _write_phones(obj, numbers: list[str]) -> None:
    owner = {obj._meta.model_name: obj}
    Phone.objects.filter(**owner).delete()
    Phone.objects.bulk_create(
        [
            Phone(number=n, digits=phone_digits(n), is_primary=i == 0, **owner)
            for i, n in enumerate(numbers)
        ]
    )


def _write_emails(obj, emails: list[str]) -> None:
    owner = {obj._meta.model_name: obj}
    Email.objects.filter(**owner).delete()
    Email.objects.bulk_create(
        [Email(email=e, is_primary=i == 0, **owner) for i, e in enumerate(emails)]
    )


def _write_addresses(obj, addresses: Sequence[dict[str, Any]]) -> None:
    owner = {obj._meta.model_name: obj}
    Address.objects.filter(**owner).delete()
    rows = []
    for item in addresses:
        data = {k: (item.get(k) or "") for k in ADDRESS_FIELDS if k in item}
        if any(v for k, v in data.items() if k not in ("kind", "country")):
            address = Address(**data, **owner)
            address.full_clean(exclude=["contact", "company"])
            rows.append(address)
    Address.objects.bulk_create(rows)


def _write_tags(obj, names: list[str]) -> None:
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    obj.tags.set(tags)


def _apply_update_data(obj, *, actor, data, fields, errors):
    """The shared start of contact_update and company_update: set plain fields, owner and
    custom values on `obj` (not saved yet) and clean the phones, emails, tags and addresses
    to write after the save. Errors are collected into `errors` by field."""
    data = dict(data)
    old_phones = list(obj.phones.values_list("number", flat=True))
    old_emails = list(obj.emails.values_list("email", flat=True))
    numbers = _collect(errors, clean_phones, data.pop("phones")) if "phones" in data else None
    addrs = _collect(errors, clean_emails, data.pop("emails")) if "emails" in data else None
    tags = clean_tags(data.pop("tags")) if "tags" in data else None
    addresses = data.pop("addresses", None)
    if "custom" in data:
        merged = {**(obj.custom or {}), **(data.pop("custom") or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
        obj.custom = _collect(errors, clean_custom_values, obj._meta.model_name, merged) or {}
    if "owner" in data:
        owner = data.pop("owner") or actor
        obj.owner = owner
        obj.department_id = owner.department_id
    _split_fields(data, fields)
    for key, value in data.items():
        setattr(obj, key, value.strip() if isinstance(value, str) else value)
    return old_phones, numbers, old_emails, addrs, tags, addresses


def _write_children_and_log(obj, *, actor, changes, phones, emails, tags, addresses) -> None:
    """The shared end of contact_update and company_update: replace phones, emails, tags and
    addresses when given, then write ONE timeline row listing every changed field."""
    old_phones, numbers = phones
    old_emails, addrs = emails
    for name, label, old, new, write in (
        ("phones", _("phones"), old_phones, numbers, _write_phones),
        ("emails", _("emails"), old_emails, addrs, _write_emails),
    ):
        if new is not None and new != old:
            write(obj, new)
            record_values(obj, {name: (old, new)})  # audit: bulk writes send no signals
            changes.append(
                {"field": name, "label": str(label), "old": ", ".join(old), "new": ", ".join(new)}
            )
    if tags is not None:
        _write_tags(obj, tags)
    if addresses is not None:
        _write_addresses(obj, addresses)
    if changes:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Changed: %(fields)s") % {"fields": ", ".join(c["label"] for c in changes)},
            body="\n".join(f"{c['label']}: {c['old'] or '—'} → {c['new'] or '—'}" for c in changes),
            actor=actor,
            obj=obj,
            data={"changes": changes},
            **subjects_of(obj),
        )
        emit(f"{obj._meta.model_name}.updated", pk=obj.pk, fields=[c["field"] for c in changes])


def _clean_owner(actor, owner, entity: str):
    """The new record's owner (the actor unless given), within the actor's "create"
    scope: with "own" one creates only for oneself (PermissionDenied otherwise)."""
    owner = owner if owner is not None else actor
    require_create(actor, entity, owner)
    return owner


# --- contacts ------------------------------------------------------------------------


@transaction.atomic
def contact_create(
    *,
    actor,
    first_name: str = "",
    last_name: str = "",
    middle_name: str = "",
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    company: Company | None = None,
    role: str = "",
    source: str = "",
    owner=None,
    custom: dict | None = None,
    **fields: Any,
) -> Contact:
    """Create a contact with its phones, emails, company link, tags and addresses.

    Extra `fields`: job_title, birthday, description, tags (names), addresses (dicts).
    Everything is validated before anything is written.
    """
    tags = clean_tags(fields.pop("tags", None))
    addresses = fields.pop("addresses", None) or []
    _split_fields(fields, CONTACT_FIELDS)
    owner = _clean_owner(actor, owner, "contacts")
    contact = Contact(
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        middle_name=(middle_name or "").strip(),
        source=source or "",
        owner=owner,
        department_id=getattr(owner, "department_id", None),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    contact.full_name = contact.compose_full_name()
    errors: dict[str, list[str]] = {}
    if not (contact.first_name or contact.last_name):
        errors["first_name"] = [_("Enter a first or a last name.")]
    numbers = _collect(errors, clean_phones, phones) or []
    addrs = _collect(errors, clean_emails, emails) or []
    contact.custom = _collect(errors, clean_custom_values, "contact", custom) or {}
    _collect(errors, contact.full_clean, exclude=["full_name"] if not contact.full_name else None)
    if errors:
        raise ValidationError(errors)
    contact.save()
    _write_phones(contact, numbers)
    _write_emails(contact, addrs)
    record_values(contact, {"phones": ([], numbers), "emails": ([], addrs)}, action="create")
    if addresses:
        _write_addresses(contact, addresses)
    if tags:
        _write_tags(contact, tags)
    if company is not None:
        ContactCompany.objects.create(
            contact=contact, company=company, role=(role or "").strip()[:128], is_primary=True
        )
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Contact created"),
        actor=actor,
        contact=contact,
        company=company,
        obj=contact,
    )
    emit("contact.created", pk=contact.pk)
    return contact


@transaction.atomic
def contact_update(*, actor, contact: Contact, data: dict[str, Any]) -> Contact:
    """Change a contact; writes one timeline row listing old → new values.

    `data` may hold any of CONTACT_FIELDS, owner, custom (merged into current values;
    None removes), phones, emails (replace all), tags (replace), addresses (replace).
    """
    require_on(actor, "edit", contact)
    errors: dict[str, list[str]] = {}
    tracked = [*CONTACT_FIELDS, "owner"]
    before = snapshot(contact, tracked)
    old_phones, numbers, old_emails, addrs, tags, addresses = _apply_update_data(
        contact, actor=actor, data=data, fields=CONTACT_FIELDS, errors=errors
    )
    if not (contact.first_name or contact.last_name):
        errors["first_name"] = [_("Enter a first or a last name.")]
    contact.full_name = contact.compose_full_name()
    if not errors:
        _collect(errors, contact.full_clean)
    if errors:
        raise ValidationError(errors)
    contact.save()
    changes = field_changes(contact, before, tracked)
    _write_children_and_log(
        contact,
        actor=actor,
        changes=changes,
        phones=(old_phones, numbers),
        emails=(old_emails, addrs),
        tags=tags,
        addresses=addresses,
    )
    return contact


@transaction.atomic
def contact_link_company(
    *, actor, contact: Contact, company: Company, role: str = ""
) -> ContactCompany:
    """Put a contact in a company with a role (updates the role if already linked)."""
    require_on(actor, "edit", contact)
    role = (role or "").strip()[:128]
    link, created = ContactCompany.objects.get_or_create(
        contact=contact,
        company=company,
        defaults={"role": role, "is_primary": not contact.memberships.exists()},
    )
    if not created and link.role != role and role:
        link.role = role
        link.save(update_fields=["role"])
    if created:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Linked to %(company)s") % {"company": company.name}
            + (f" ({role})" if role else ""),
            actor=actor,
            contact=contact,
            company=company,
            obj=contact,
        )
        emit("contact.updated", pk=contact.pk, fields=["companies"])
    return link


@transaction.atomic
def contact_unlink_company(*, actor, contact: Contact, company: Company) -> bool:
    require_on(actor, "edit", contact)
    deleted, _rows = ContactCompany.objects.filter(contact=contact, company=company).delete()
    if deleted:
        timeline_add(
            kind=TimelineKind.CHANGE,
            title=_("Unlinked from %(company)s") % {"company": company.name},
            actor=actor,
            contact=contact,
            company=company,
            obj=contact,
        )
        emit("contact.updated", pk=contact.pk, fields=["companies"])
    return bool(deleted)


def _phone_digit_keys(phones: Sequence[str]) -> list[str]:
    keys = []
    for raw in phones or ():
        try:
            keys.append(phone_digits(normalize_phone(raw)))
        except ValidationError:
            continue
    return keys


def _email_keys(emails: Sequence[str]) -> list[str]:
    return [e.strip().lower() for e in emails or () if e and e.strip()]


def contact_find_duplicates(
    *, phones: Sequence[str] = (), emails: Sequence[str] = ()
) -> QuerySet[Contact]:
    """Existing contacts (not deleted) with one of these phones or emails, in any format.

    Not scoped: lead conversion must never create a duplicate of a record the user can't
    see. Callers show out-of-scope matches without details."""
    digits = _phone_digit_keys(phones)
    mails = _email_keys(emails)
    if not digits and not mails:
        return Contact.objects.none()
    cond = Q(pk__in=[])
    if digits:
        cond |= Q(
            pk__in=Phone.objects.filter(digits__in=digits, contact__isnull=False).values(
                "contact_id"
            )
        )
    for mail in mails:
        cond |= Q(
            pk__in=Email.objects.filter(email__iexact=mail, contact__isnull=False).values(
                "contact_id"
            )
        )
    return Contact.objects.filter(cond).order_by("full_name", "pk")


def company_find_duplicates(
    *, name: str = "", inn: str = "", phones: Sequence[str] = (), emails: Sequence[str] = ()
) -> QuerySet[Company]:
    """Existing companies (not deleted) with this name (case-insensitive), INN, phone or email."""
    from svyaz.core.search import Casefold

    cond = Q(pk__in=[])
    inn = (inn or "").strip().replace(" ", "")
    if inn:
        cond |= Q(inn=inn)
    digits = _phone_digit_keys(phones)
    if digits:
        cond |= Q(
            pk__in=Phone.objects.filter(digits__in=digits, company__isnull=False).values(
                "company_id"
            )
        )
    for mail in _email_keys(emails):
        cond |= Q(
            pk__in=Email.objects.filter(email__iexact=mail, company__isnull=False).values(
                "company_id"
            )
        )
    qs = Company.objects.annotate(_name_lc=Casefold("name"))
    name = " ".join((name or "").split()).lower()
    if name:
        cond |= Q(_name_lc=name)
    return qs.filter(cond).order_by("name", "pk")


# --- companies -----------------------------------------------------------------------


@transaction.atomic
def company_create(
    *,
    actor,
    name: str,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    inn: str = "",
    kpp: str = "",
    owner=None,
    source: str = "",
    custom: dict | None = None,
    **fields: Any,
) -> Company:
    """Create a company. Extra `fields`: legal_name, country, tax_id, industry_code,
    website, description, tags (names), addresses (dicts)."""
    tags = clean_tags(fields.pop("tags", None))
    addresses = fields.pop("addresses", None) or []
    _split_fields(fields, COMPANY_FIELDS)
    owner = _clean_owner(actor, owner, "companies")
    company = Company(
        name=" ".join((name or "").split()),
        inn=inn or "",
        kpp=kpp or "",
        source=source or "",
        owner=owner,
        department_id=getattr(owner, "department_id", None),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    errors: dict[str, list[str]] = {}
    if not company.name:
        errors["name"] = [_("Enter the company name.")]
    numbers = _collect(errors, clean_phones, phones) or []
    addrs = _collect(errors, clean_emails, emails) or []
    company.custom = _collect(errors, clean_custom_values, "company", custom) or {}
    _collect(errors, _validate_company_tax, company)
    if "name" not in errors:
        _collect(errors, company.full_clean)
    if errors:
        raise ValidationError(errors)
    company.save()
    _write_phones(company, numbers)
    _write_emails(company, addrs)
    record_values(company, {"phones": ([], numbers), "emails": ([], addrs)}, action="create")
    if addresses:
        _write_addresses(company, addresses)
    if tags:
        _write_tags(company, tags)
    timeline_add(
        kind=TimelineKind.CHANGE,
        title=_("Company created"),
        actor=actor,
        company=company,
        obj=company,
    )
    emit("company.created", pk=company.pk)
    return company


@transaction.atomic
def company_update(*, actor, company: Company, data: dict[str, Any]) -> Company:
    """Change a company; one timeline row with old → new values. Keys as in contact_update."""
    require_on(actor, "edit", company)
    errors: dict[str, list[str]] = {}
    tracked = [*COMPANY_FIELDS, "owner"]
    before = snapshot(company, tracked)
    old_phones, numbers, old_emails, addrs, tags, addresses = _apply_update_data(
        company, actor=actor, data=data, fields=COMPANY_FIELDS, errors=errors
    )
    company.name = " ".join((company.name or "").split())
    if not company.name:
        errors["name"] = [_("Enter the company name.")]
    _collect(errors, _validate_company_tax, company)
    if not errors:
        _collect(errors, company.full_clean)
    if errors:
        raise ValidationError(errors)
    company.save()
    changes = field_changes(company, before, tracked)
    _write_children_and_log(
        company,
        actor=actor,
        changes=changes,
        phones=(old_phones, numbers),
        emails=(old_emails, addrs),
        tags=tags,
        addresses=addresses,
    )
    return company
