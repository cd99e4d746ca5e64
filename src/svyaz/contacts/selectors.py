"""Every read of companies and contacts, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet

from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.scoping import get_visible, visible_to
from svyaz.core.search import (
    Casefold,
    email_owner_ids,
    fts_filter,
    fts_words,
    matching_ids,
    phone_owner_ids,
    text_q,
)


def contact_list(*, user) -> QuerySet[Contact]:
    return visible_to(user, Contact.objects.all())


def company_list(*, user) -> QuerySet[Company]:
    return visible_to(user, Company.objects.all())


def contact_list_rows(*, user) -> QuerySet[Contact]:
    """Contacts with everything a list row shows, in a constant number of queries."""
    return (
        contact_list(user=user)
        .select_related("owner", "summary")
        .prefetch_related(
            "phones",
            "emails",
            "tags",
            "addresss",
            Prefetch(
                "memberships",
                queryset=ContactCompany.objects.select_related("company").order_by(
                    "-is_primary", "id"
                ),
            ),
        )
    )


def company_list_rows(*, user) -> QuerySet[Company]:
    return (
        company_list(user=user)
        .select_related("owner", "summary")
        .prefetch_related("phones", "emails", "tags", "addresss")
    )


def contact_search(qs: QuerySet[Contact], q: str) -> QuerySet[Contact]:
    """Name words (any case, any alphabet), phone in any format, email.

    When `q` may be a phone or an e-mail: one `pk IN (names UNION phones UNION emails)`
    filter, each branch using its own index (trigram on PostgreSQL), instead of an OR
    with EXISTS that reads every contact."""
    q = (q or "").strip()[:100]
    if not q:
        return qs
    extras = [
        ids
        for ids in (phone_owner_ids(Phone, "contact", q), email_owner_ids(Email, "contact", q))
        if ids is not None
    ]
    name_cond = text_q("_name_lc", q)
    # SQLite: candidates from the FTS5 trigram table first (contacts.0005), so the Python
    # case folding runs on them only; the same matches.
    fts = fts_filter("contact", fts_words(q), db=qs.db)
    if fts is not None:
        name_cond = fts & name_cond
    if not extras:
        # Words only: filter the rows directly, so a sorted, LIMITed read can stop at the
        # first matches (an `IN (subquery)` would fold every row's name first on SQLite).
        return qs.annotate(_name_lc=Casefold(F("full_name"))).filter(name_cond)
    names = (
        Contact.all_objects.annotate(_name_lc=Casefold(F("full_name")))
        .filter(name_cond)
        .values("pk")
    )
    return qs.filter(matching_ids([names, *extras]))


def company_search(qs: QuerySet[Company], q: str) -> QuerySet[Company]:
    """Name or legal name words, INN / tax id prefix, phone in any format, email
    (one `pk IN (… UNION …)` filter, as contact_search)."""
    q = (q or "").strip()[:100]
    if not q:
        return qs
    named = Company.all_objects.annotate(
        _name_lc=Casefold(F("name")), _legal_lc=Casefold(F("legal_name"))
    )
    # Name or legal name in one branch: one pass over the table (or a BitmapOr of the two
    # trigram indexes) instead of two.
    name_cond = text_q("_name_lc", q) | text_q("_legal_lc", q)
    fts = fts_filter("company", fts_words(q), db=qs.db)  # SQLite: as in contact_search
    if fts is not None:
        name_cond = fts & name_cond
    parts = [named.filter(name_cond).values("pk")]
    compact = q.replace(" ", "")
    if compact.isdigit() and len(compact) >= 4:
        parts.append(Company.all_objects.filter(inn__startswith=compact).values("pk"))
    if len(compact) >= 4:
        parts.append(Company.all_objects.filter(tax_id__iexact=compact).values("pk"))
    for extra in (phone_owner_ids(Phone, "company", q), email_owner_ids(Email, "company", q)):
        if extra is not None:
            parts.append(extra)
    return qs.filter(matching_ids(parts))


def contact_get(*, user, pk) -> Contact:
    """The contact for its card; core.errors.NotFound (404) when it does not exist or is
    out of scope (that one logged as a denial)."""
    return get_visible(
        user,
        contact_list(user=user)
        .select_related("owner", "department")
        .prefetch_related(
            "phones",
            "emails",
            "tags",
            Prefetch("addresss", queryset=Address.objects.order_by("id")),
            Prefetch(
                "memberships",
                queryset=ContactCompany.objects.select_related("company")
                .filter(company__in=company_list(user=user))
                .order_by("-is_primary", "id"),
            ),
        ),
        pk,
    )


def company_get(*, user, pk) -> Company:
    return get_visible(
        user,
        company_list(user=user)
        .select_related("owner", "department")
        .prefetch_related(
            "phones",
            "emails",
            "tags",
            Prefetch("addresss", queryset=Address.objects.order_by("id")),
            Prefetch(
                "memberships",
                queryset=ContactCompany.objects.select_related("contact")
                .filter(contact__in=contact_list(user=user))
                .order_by("contact__full_name", "id"),
            ),
        ),
        pk,
    )


def client_summary(obj):
    """The ClientSummary of a contact or company, or None (a client with none is a lead)."""
    from svyaz.contacts.models import ClientSummary

    try:
        return obj.summary
    except ClientSummary.DoesNotExist:
        return None


def custom_values_display(obj, entity: str, hidden=frozenset()) -> list[tuple[str, str]]:
    """(label, value) of each defined custom field the record has a value for, except
    the `hidden` ones (`cf_<code>`: field rules of the user's roles)."""
    from django.utils.translation import gettext as _

    from svyaz.core.custom_fields import definitions

    out = []
    values = obj.custom or {}
    for d in definitions(entity):
        if d.code not in values or f"cf_{d.code}" in hidden:
            continue
        value = values[d.code]
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        elif value is True:
            value = _("Yes")
        elif value is False:
            value = _("No")
        out.append((d.label, str(value)))
    return out


def client_related(
    *, user, contact: Contact | None = None, company: Company | None = None, limit: int = 20
) -> dict:
    """Deals, orders and open tasks of a client card, each scoped to the user."""
    from svyaz.followups.models import Followup, FollowupStatus
    from svyaz.sales.models import Deal, Order

    subject = {"contact": contact} if contact is not None else {"company": company}
    deals = visible_to(user, Deal.objects.filter(**subject)).select_related("stage", "pipeline")
    orders = visible_to(user, Order.objects.filter(**subject))
    tasks = visible_to(
        user,
        Followup.objects.filter(status=FollowupStatus.OPEN, **subject),
        extra_owner_fields=("assignee",),
    ).select_related("assignee")
    return {
        "deals": list(deals.order_by("-created_at", "-id")[:limit]),
        "orders": list(orders.order_by("-ordered_at", "-id")[:limit]),
        "open_tasks": list(tasks.order_by("due_at", "id")[:limit]),
    }


def client_rows_related(rows: list, *, owner: str) -> None:
    """What the API shows of a page of contacts (`owner="contact"`) or companies besides
    their own columns, as plain dicts in `obj._related` — phones, emails, addresses, tags
    and (contacts) companies — from one values() query each, in the order the relations'
    prefetches give. The records are already scoped; these are their own rows. Building
    dicts instead of model instances is most of what a page of 50 rows costs."""
    if not rows:
        return
    ids = [obj.pk for obj in rows]
    owner_id = f"{owner}_id"
    where = {f"{owner_id}__in": ids}
    related: dict[int, dict[str, list]] = {
        pk: {"phones": [], "emails": [], "addresses": [], "tags": [], "companies": []} for pk in ids
    }
    for row in (
        Phone.objects.filter(**where)
        .order_by(owner_id, "-is_primary", "id")
        .values(owner_id, "number", "kind", "is_primary")
    ):
        related[row.pop(owner_id)]["phones"].append(row)
    for row in (
        Email.objects.filter(**where)
        .order_by(owner_id, "-is_primary", "id")
        .values(owner_id, "email", "kind", "is_primary")
    ):
        related[row.pop(owner_id)]["emails"].append(row)
    for row in (
        Address.objects.filter(**where)
        .order_by(owner_id, "id")
        .values(owner_id, "kind", "country", "region", "city", "street", "postal_code")
    ):
        related[row.pop(owner_id)]["addresses"].append(row)
    through = type(rows[0]).tags.through
    for pk, name in (
        through.objects.filter(**where)
        .order_by(owner_id, "tag__name")
        .values_list(owner_id, "tag__name")
    ):
        related[pk]["tags"].append(name)
    if owner == "contact":
        for pk, company_id, name, role, primary in (
            ContactCompany.objects.filter(contact_id__in=ids)
            .order_by("contact_id", "-is_primary", "id")
            .values_list("contact_id", "company_id", "company__name", "role", "is_primary")
        ):
            related[pk]["companies"].append(
                {"id": company_id, "name": name, "role": role, "is_primary": primary}
            )
    for obj in rows:
        obj._related = related[obj.pk]
