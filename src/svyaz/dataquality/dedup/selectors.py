"""Reads of the duplicate queue, scoped: a pair is listed only when the user may see both
records (core.scoping.visible_to on each side); merged-away (soft-deleted) records drop
out by themselves."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.phones import format_phone
from svyaz.core.scoping import visible_to
from svyaz.dataquality.models import DuplicateEntity, DuplicatePair, DuplicateStatus

MODELS = {DuplicateEntity.CONTACT: Contact, DuplicateEntity.COMPANY: Company}


def duplicate_pairs(
    user,
    *,
    entity: str | None = None,
    status: str | None = DuplicateStatus.OPEN,
    min_score: float | None = None,
) -> QuerySet[DuplicatePair]:
    cond = Q(pk__in=[])
    for ent, model in MODELS.items():
        if entity and ent != entity:
            continue
        visible = visible_to(user, model.objects.all()).values("pk")
        cond |= Q(entity=ent, a_id__in=visible, b_id__in=visible)
    qs = DuplicatePair.objects.filter(cond)
    if status:
        qs = qs.filter(status=status)
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    return qs.order_by("-score", "id")


def duplicate_pair_get(user, pk: int) -> DuplicatePair | None:
    return duplicate_pairs(user, status=None).filter(pk=pk).first()


# --- side by side ---------------------------------------------------------------------------
CONTACT_ROWS = [
    ("last_name", _("Last name")),
    ("first_name", _("First name")),
    ("middle_name", _("Middle name")),
    ("birthday", _("Birthday")),
    ("phones", _("Phones")),
    ("emails", _("Emails")),
    ("company", _("Companies")),
    ("city", _("City")),
    ("postal_code", _("Postal code")),
    ("street", _("Street")),
]
COMPANY_ROWS = [
    ("name", _("Name")),
    ("inn", _("INN")),
    ("phones", _("Phones")),
    ("emails", _("Emails")),
    ("website", _("Website")),
    ("city", _("City")),
    ("postal_code", _("Postal code")),
    ("street", _("Street")),
]


def record_fields(ids: set[int], entity: str) -> dict[int, dict]:
    """Field values to show for these records: a fixed number of queries for any page."""
    model = MODELS[entity]
    owner = "contact_id" if entity == DuplicateEntity.CONTACT else "company_id"
    out: dict[int, dict] = {}
    if not ids:
        return out
    if entity == DuplicateEntity.CONTACT:
        for pk, first, middle, last, birthday, full in model.objects.filter(pk__in=ids).values_list(
            "pk", "first_name", "middle_name", "last_name", "birthday", "full_name"
        ):
            out[pk] = {
                "title": full or "—",
                "first_name": first,
                "middle_name": middle,
                "last_name": last,
                "birthday": birthday.isoformat() if birthday else "",
                "phones": [],
                "emails": [],
                "company": [],
            }
        for cid, name in ContactCompany.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "company__name"
        ):
            out[cid]["company"].append(name)
    else:
        for pk, name, inn, website in model.objects.filter(pk__in=ids).values_list(
            "pk", "name", "inn", "website"
        ):
            out[pk] = {"title": name, "name": name, "inn": inn, "website": website}
            out[pk].update(phones=[], emails=[])
    for oid, number in Phone.objects.filter(**{f"{owner}__in": ids}).values_list(owner, "number"):
        if oid in out:
            out[oid]["phones"].append(format_phone(number))
    for oid, mail in Email.objects.filter(**{f"{owner}__in": ids}).values_list(owner, "email"):
        if oid in out:
            out[oid]["emails"].append(mail)
    for oid, city, postal, street in (
        Address.objects.filter(**{f"{owner}__in": ids})
        .order_by(owner, "id")
        .values_list(owner, "city", "postal_code", "street")
    ):
        if oid in out and "city" not in out[oid]:
            out[oid].update(city=city, postal_code=postal, street=street)
    for values in out.values():
        for k, v in list(values.items()):
            if isinstance(v, list):
                values[k] = ", ".join(v)
    return out


def side_by_side(pairs: list[DuplicatePair]) -> list[dict]:
    """Each pair with its two records' fields in rows: [(label, a, b, similarity)]."""
    by_entity: dict[str, set[int]] = {}
    for p in pairs:
        by_entity.setdefault(p.entity, set()).update((p.a_id, p.b_id))
    shown = {ent: record_fields(ids, ent) for ent, ids in by_entity.items()}
    out = []
    for p in pairs:
        a = shown[p.entity].get(p.a_id)
        b = shown[p.entity].get(p.b_id)
        if a is None or b is None:
            continue
        spec = CONTACT_ROWS if p.entity == DuplicateEntity.CONTACT else COMPANY_ROWS
        rows = []
        for name, label in spec:
            va, vb = a.get(name) or "", b.get(name) or ""
            if not va and not vb:
                continue
            rows.append(
                {
                    "field": name,
                    "label": label,
                    "a": va,
                    "b": vb,
                    "similarity": p.reasons.get(name),
                    "same": bool(va) and va == vb,
                }
            )
        out.append({"pair": p, "a": a, "b": b, "rows": rows})
    return out
