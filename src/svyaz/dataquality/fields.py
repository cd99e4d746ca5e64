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

# --- leads, deals, activities, products (dataquality/leads.py, deals.py, activities.py,
# products.py write them). Synonyms are matched in field order: the first field that lists a
# header wins, so the more specific fields come first.

_OWNER = ImportField(
    "owner",
    _("Owner (user name, email or full name)"),
    (
        "ответственный",
        "менеджер",
        "ответственный менеджер",
        "владелец",
        "owner",
        "responsible",
        "assigned to",
        "assignee",
        "manager",
        "sales rep",
    ),
)
_CREATED_AT = ImportField(
    "created_at",
    _("Created"),
    ("дата создания", "создан", "создана", "created", "created at", "date created", "create date"),
)
_CLIENT_NAME = ImportField(
    "full_name",
    _("Client (contact name)"),
    (
        "контакт",
        "контактное лицо",
        "клиент",
        "фио",
        "contact",
        "contact name",
        "client",
        "customer",
    ),
)
_CLIENT_COMPANY = ImportField(
    "company",
    _("Company"),
    ("компания", "организация", "контрагент", "company", "organization", "account"),
)
_CLIENT_INN = ImportField("company_inn", _("Company INN"), ("инн", "инн контрагента", "inn"))
_CURRENCY = ImportField("currency", _("Currency"), ("валюта", "currency"))
_SINGLE_PHONE = ImportField("phone", _("Phone"), _PHONE.synonyms)
_SINGLE_EMAIL = ImportField("email", _("Email"), _EMAIL.synonyms)

LEAD_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "title",
        _("Request (lead title)"),
        (
            "обращение",
            "запрос",
            "заявка",
            "лид",
            "название лида",
            "название",
            "тема",
            "title",
            "lead",
            "lead title",
            "lead name",
            "request",
            "subject",
        ),
    ),
    ImportField("last_name", _("Last name"), ("фамилия", "last name", "surname", "family name")),
    ImportField("first_name", _("First name"), ("имя", "first name", "given name")),
    ImportField(
        "full_name",
        _("Full name (Last First Middle)"),
        (
            "фио",
            "ф и о",
            "контакт",
            "контактное лицо",
            "full name",
            "name",
            "contact",
            "contact name",
        ),
    ),
    ImportField(
        "company_name",
        _("Company"),
        ("компания", "организация", "название компании", "company", "company name", "account"),
    ),
    ImportField("company_inn", _("Company INN"), ("инн", "инн компании", "inn", "tax id")),
    _SINGLE_PHONE,
    _SINGLE_EMAIL,
    ImportField("channel", _("Channel"), ("канал", "канал связи", "channel", "medium")),
    ImportField("source", _("Source"), ("источник", "source", "lead source", "откуда")),
    ImportField("utm_source", "utm_source", ("utm source", "utm_source")),
    ImportField("utm_medium", "utm_medium", ("utm medium", "utm_medium")),
    ImportField("utm_campaign", "utm_campaign", ("utm campaign", "utm_campaign", "кампания")),
    ImportField("status", _("Status"), ("статус", "состояние", "status", "lead status", "state")),
    _DESCRIPTION,
    _TAGS,
    _OWNER,
    _CREATED_AT,
    _EXTERNAL,
)

DEAL_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "title",
        _("Deal title"),
        (
            "название сделки",
            "сделка",
            "название",
            "наименование",
            "deal",
            "deal name",
            "deal title",
            "title",
            "name",
            "opportunity",
        ),
    ),
    ImportField("pipeline", _("Pipeline"), ("воронка", "направление", "pipeline", "funnel")),
    ImportField("stage", _("Stage"), ("этап", "стадия", "этап сделки", "stage", "deal stage")),
    ImportField(
        "outcome",
        _("Outcome (won / lost / open)"),
        ("результат", "итог", "исход", "статус", "outcome", "result", "status", "won lost"),
    ),
    ImportField(
        "amount",
        _("Amount"),
        ("сумма", "бюджет", "сумма сделки", "amount", "value", "deal value", "budget", "total"),
    ),
    _CURRENCY,
    _CREATED_AT,
    ImportField(
        "closed_at",
        _("Closed"),
        ("дата закрытия", "закрыта", "дата завершения", "closed", "closed at", "close date"),
    ),
    ImportField(
        "expected_close",
        _("Expected close"),
        (
            "плановая дата закрытия",
            "ожидаемая дата закрытия",
            "срок",
            "expected close",
            "expected close date",
            "due date",
        ),
    ),
    ImportField("probability", _("Probability, %"), ("вероятность", "probability")),
    ImportField(
        "lost_reason",
        _("Lost reason"),
        ("причина отказа", "причина проигрыша", "причина", "lost reason", "loss reason", "reason"),
    ),
    _CLIENT_NAME,
    _PHONE,
    _EMAIL,
    _CLIENT_COMPANY,
    _CLIENT_INN,
    _OWNER,
    _TAGS,
    _EXTERNAL,
)

ACTIVITY_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "kind",
        _("Type (call, email, meeting…)"),
        ("тип", "тип активности", "тип события", "вид", "type", "activity type", "kind"),
    ),
    ImportField(
        "direction",
        _("Direction (incoming / outgoing)"),
        ("направление", "входящий исходящий", "direction", "in out"),
    ),
    ImportField("subject", _("Subject"), ("тема", "заголовок", "subject", "title")),
    ImportField(
        "body",
        _("Text"),
        (
            "текст",
            "описание",
            "комментарий",
            "содержание",
            "заметка",
            "примечание",
            "body",
            "text",
            "description",
            "notes",
            "note",
            "comment",
            "content",
        ),
    ),
    ImportField(
        "occurred_at",
        _("When"),
        ("дата", "дата и время", "когда", "время", "date", "date time", "datetime", "when", "time"),
    ),
    ImportField(
        "duration",
        _("Duration (seconds or h:mm:ss)"),
        ("длительность", "продолжительность", "duration", "length", "duration sec", "call length"),
    ),
    ImportField(
        "outcome", _("Call outcome"), ("результат", "итог", "результат звонка", "outcome", "result")
    ),
    _CLIENT_NAME,
    _PHONE,
    _EMAIL,
    _CLIENT_COMPANY,
    _CLIENT_INN,
    ImportField("deal", _("Deal (title or external id)"), ("сделка", "deal", "deal title")),
    _EXTERNAL,
)

PRODUCT_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "name",
        _("Name"),
        (
            "наименование",
            "название",
            "товар",
            "услуга",
            "продукт",
            "номенклатура",
            "name",
            "product",
            "product name",
            "item",
            "title",
        ),
    ),
    ImportField(
        "sku",
        _("SKU / code"),
        ("артикул", "код", "код товара", "sku", "code", "product code", "item code", "article"),
    ),
    ImportField(
        "unit", _("Unit"), ("ед изм", "единица", "единица измерения", "unit", "uom", "units")
    ),
    ImportField(
        "price", _("Price"), ("цена", "стоимость", "цена за единицу", "price", "unit price", "cost")
    ),
    _CURRENCY,
    ImportField(
        "is_active",
        _("Active (yes / no)"),
        ("активен", "активный", "в продаже", "active", "enabled"),
    ),
    _DESCRIPTION,
    ImportField(
        "external_id",
        _("External id"),
        ("id", "external id", "внешний id", "идентификатор", "ид", "uid", "guid", "xml id"),
    ),
)

ENTITY_FIELDS = {
    "contact": CONTACT_FIELDS,
    "company": COMPANY_FIELDS,
    "order": ORDER_FIELDS,
    "lead": LEAD_FIELDS,
    "deal": DEAL_FIELDS,
    "activity": ACTIVITY_FIELDS,
    "product": PRODUCT_FIELDS,
}

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
