"""What an import can fill, per entity, and the guesser that maps file headers to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ImportField:
    key: str
    label: object
    synonyms: tuple[str, ...]
    repeatable: bool = False  # several columns may feed it (phones, emails)


_PHONE = ImportField(
    "phone",
    _("Phone"),
    (
        "телефон",
        "тел",
        "моб телефон",
        "мобильный телефон",
        "мобильный",
        "сотовый",
        "рабочий телефон",
        "номер телефона",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "work phone",
        "phone number",
    ),
    repeatable=True,
)
_EMAIL = ImportField(
    "email",
    _("Email"),
    (
        "email",
        "e mail",
        "почта",
        "эл почта",
        "электронная почта",
        "емейл",
        "мейл",
        "mail",
        "email address",
        "адрес электронной почты",
    ),
    repeatable=True,
)
_CITY = ImportField("city", _("City"), ("город", "city", "town", "населенный пункт"))
_SOURCE = ImportField("source", _("Source"), ("источник", "source", "lead source", "канал"))
_TAGS = ImportField("tags", _("Tags"), ("теги", "метки", "тэги", "tags", "labels"))
_DESCRIPTION = ImportField(
    "description",
    _("Description"),
    ("описание", "комментарий", "примечание", "заметки", "description", "notes", "comment"),
)
_EXTERNAL = ImportField(
    "external_id",
    _("External id"),
    ("id", "external id", "внешний id", "код", "идентификатор", "ид", "uid", "guid", "xml id"),
)

CONTACT_FIELDS: tuple[ImportField, ...] = (
    ImportField("last_name", _("Last name"), ("фамилия", "last name", "surname", "family name")),
    ImportField("first_name", _("First name"), ("имя", "first name", "given name", "firstname")),
    ImportField("middle_name", _("Middle name"), ("отчество", "middle name", "patronymic")),
    ImportField(
        "full_name",
        _("Full name (Last First Middle)"),
        (
            "фио",
            "ф и о",
            "имя полностью",
            "контакт",
            "контактное лицо",
            "full name",
            "name",
            "contact",
            "contact name",
        ),
    ),
    _PHONE,
    _EMAIL,
    ImportField(
        "company",
        _("Company"),
        (
            "компания",
            "организация",
            "фирма",
            "работодатель",
            "company",
            "organization",
            "organisation",
            "account",
            "company name",
        ),
    ),
    ImportField("job_title", _("Job title"), ("должность", "job title", "title", "position")),
    ImportField(
        "birthday",
        _("Birthday"),
        ("день рождения", "дата рождения", "birthday", "date of birth", "birth date"),
    ),
    _CITY,
    _SOURCE,
    _TAGS,
    _DESCRIPTION,
    _EXTERNAL,
)

COMPANY_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "name",
        _("Name"),
        (
            "название",
            "наименование",
            "компания",
            "организация",
            "name",
            "company",
            "company name",
            "organization",
            "account name",
        ),
    ),
    ImportField(
        "legal_name",
        _("Legal name"),
        ("полное наименование", "юридическое название", "юр название", "legal name"),
    ),
    ImportField("inn", _("INN"), ("инн", "inn", "tax id", "taxpayer id", "vat", "vat number")),
    ImportField("kpp", _("KPP"), ("кпп", "kpp")),
    _PHONE,
    _EMAIL,
    ImportField("website", _("Website"), ("сайт", "веб сайт", "website", "site", "web", "url")),
    ImportField(
        "industry_code", _("Industry code"), ("оквэд", "отрасль", "industry", "industry code")
    ),
    _CITY,
    _SOURCE,
    _TAGS,
    _DESCRIPTION,
    _EXTERNAL,
)

ORDER_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "number",
        _("Order number"),
        ("номер", "номер заказа", "номер документа", "order number", "order no", "number", "no"),
    ),
    ImportField(
        "ordered_at",
        _("Date"),
        (
            "дата",
            "дата заказа",
            "дата продажи",
            "дата документа",
            "date",
            "order date",
            "sale date",
        ),
    ),
    ImportField(
        "amount",
        _("Amount"),
        ("сумма", "сумма заказа", "итого", "amount", "total", "sum", "order total"),
    ),
    ImportField("currency", _("Currency"), ("валюта", "currency")),
    ImportField("status", _("Status"), ("статус", "состояние", "status", "state")),
    ImportField(
        "full_name",
        _("Client (contact name)"),
        ("клиент", "покупатель", "фио", "контакт", "client", "customer", "contact"),
    ),
    _PHONE,
    _EMAIL,
    ImportField(
        "company",
        _("Company"),
        ("компания", "организация", "контрагент", "company", "organization", "account"),
    ),
    ImportField("company_inn", _("Company INN"), ("инн", "инн контрагента", "inn", "tax id")),
    ImportField(
        "external_id", _("External id"), ("id", "external id", "внешний id", "код", "guid", "ид")
    ),
)

ENTITY_FIELDS = {"contact": CONTACT_FIELDS, "company": COMPANY_FIELDS, "order": ORDER_FIELDS}

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def normalize_header(text: str) -> str:
    """'  Моб. телефон ' → 'моб телефон'; 'E-mail' → 'e mail'; ё → е."""
    text = (text or "").lower().replace("ё", "е").replace("\ufeff", "")
    return " ".join(_PUNCT.sub(" ", text).split())


def fields_for(entity: str) -> tuple[ImportField, ...]:
    return ENTITY_FIELDS[entity]


def guess_field(header: str, entity: str, threshold: float = 80) -> str:
    """The field key a header most likely means, or "" when nothing is close enough."""
    norm = normalize_header(header)
    if not norm:
        return ""
    candidates = {}
    for f in fields_for(entity):
        for syn in f.synonyms:
            candidates.setdefault(normalize_header(syn), f.key)
    if norm in candidates:
        return candidates[norm]
    squashed = norm.replace(" ", "")
    for syn, key in candidates.items():
        if syn.replace(" ", "") == squashed:
            return key
    from rapidfuzz import fuzz, process

    match = process.extractOne(norm, list(candidates), scorer=fuzz.ratio, score_cutoff=threshold)
    return candidates[match[0]] if match else ""


def guess_mapping(headers: list[str], entity: str) -> dict[str, str]:
    """{column index: field} for the headers; a non-repeatable field goes to its first column."""
    repeatable = {f.key for f in fields_for(entity) if f.repeatable}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for i, header in enumerate(headers):
        key = guess_field(header, entity)
        if not key or (key in used and key not in repeatable):
            continue
        used.add(key)
        mapping[str(i)] = key
    return mapping
