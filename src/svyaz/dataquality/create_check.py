"""The duplicate warning of the API: POST /api/v1/contacts/ (and /companies/) with a likely
duplicate answers 409 Conflict listing the candidates, unless the client confirms with
`?force=1` or `"confirm_duplicate": true` — the API twin of the form's "save anyway".

Why 409 and not 400: the input is valid; it conflicts with what is already stored, and
sending the same request again with the confirmation succeeds. A 400 means "fix your
input", which would be wrong here, and clients treat the two differently.

Likely duplicates (the same rules as the forms, plus names): a contact with one of the
phones (any format) or emails; a contact of the same company whose name is close
("Иванов Иван" ≈ "Иванов Иван Иванович", "Ivan Ivanov" ≈ "Ivanov Ivan"); a company with
the same name, INN, phone or email. Candidates the user may not see are listed without
their details (as in the form), so nobody creates a second copy of a colleague's client.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework.response import Response

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact
from svyaz.core.phones import normalize_phone, phone_digits
from svyaz.core.scoping import visible_to

MAX_CANDIDATES = 10
NAME_SCORE = 90  # rapidfuzz token_set_ratio, 0–100
_TRUE = {"1", "true", "yes", "on"}


def _fold(text: str) -> str:
    return " ".join((text or "").lower().replace("ё", "е").split())


def _keys(values, attr: str) -> set[str]:
    return {getattr(v, attr) for v in values}


def contact_candidates(data: dict[str, Any], company_id: int | None) -> list[tuple[Contact, list]]:
    """[(contact, reasons)] for a contact about to be created from `data`."""
    from rapidfuzz import fuzz

    found: dict[int, tuple[Contact, list[str]]] = {}
    phones = set()
    for raw in data.get("phones") or []:
        try:
            phones.add(phone_digits(normalize_phone(raw)))
        except ValidationError:
            continue
    emails = {e.strip().lower() for e in data.get("emails") or [] if e and e.strip()}
    qs = contact_services.contact_find_duplicates(
        phones=data.get("phones") or [], emails=list(emails)
    ).prefetch_related("phones", "emails")
    for contact in qs[:MAX_CANDIDATES]:
        reasons = []
        if phones and _keys(contact.phones.all(), "digits") & phones:
            reasons.append("phone")
        if emails and {e.lower() for e in _keys(contact.emails.all(), "email")} & emails:
            reasons.append("email")
        found[contact.pk] = (contact, reasons or ["phone"])
    name = _fold(" ".join(data.get(k) or "" for k in ("last_name", "first_name", "middle_name")))
    if company_id and name:
        members = Contact.objects.filter(memberships__company_id=company_id).only(
            "pk", "full_name", "owner", "department"
        )
        for contact in members[:500]:
            if fuzz.token_set_ratio(name, _fold(contact.full_name)) >= NAME_SCORE:
                entry = found.setdefault(contact.pk, (contact, []))
                entry[1].append("name_and_company")
    return list(found.values())[:MAX_CANDIDATES]


def company_candidates(data: dict[str, Any]) -> list[tuple[Company, list]]:
    qs = contact_services.company_find_duplicates(
        name=data.get("name", ""),
        inn=data.get("inn", ""),
        phones=data.get("phones") or [],
        emails=data.get("emails") or [],
    )
    name, inn = _fold(data.get("name", "")), (data.get("inn") or "").replace(" ", "")
    out = []
    for company in qs[:MAX_CANDIDATES]:
        reasons = []
        if name and _fold(company.name) == name:
            reasons.append("name")
        if inn and company.inn == inn:
            reasons.append("inn")
        out.append((company, reasons or ["phone_or_email"]))
    return out


def _confirmed(request, confirmed: bool) -> bool:
    return confirmed or str(request.query_params.get("force", "")).lower() in _TRUE


def duplicate_conflict(request, *, kind: str, data: dict[str, Any], confirmed: bool = False):
    """The 409 response when `data` (validated API input of a new contact or company)
    looks like a record that exists; None when it does not or the client confirmed."""
    if _confirmed(request, confirmed):
        return None
    if kind == "contact":
        candidates = contact_candidates(data, data.get("company"))
        model = Contact
    elif kind == "company":
        candidates = company_candidates(data)
        model = Company
    else:
        return None
    if not candidates:
        return None
    visible = set(
        visible_to(
            request.user, model.objects.filter(pk__in=[c.pk for c, _r in candidates])
        ).values_list("pk", flat=True)
    )
    listed = []
    for obj, reasons in candidates:
        if obj.pk in visible:
            name = obj.full_name if kind == "contact" else obj.name
            listed.append({"id": obj.pk, "name": name, "visible": True, "reasons": reasons})
        else:
            listed.append({"id": None, "name": None, "visible": False, "reasons": reasons})
    return Response(
        {
            "detail": _(
                "Likely duplicates exist. Send “confirm_duplicate”: true (or ?force=1) "
                "to create the record anyway."
            ),
            "code": "duplicate",
            "duplicates": listed,
        },
        status=409,
    )
