"""Every read of companies and contacts, scoped to what the user may see."""

from __future__ import annotations

import functools

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


# --- the client card ---------------------------------------------------------------------


def contact_card(*, user, pk) -> Contact:
    """The contact of its card in two queries (contact_get and client_related take ten):
    `card_record`, then `card_relations`. NotFound (404) as contact_get."""
    contact = card_record(user, Contact, pk)
    card_relations(user, contact)
    return contact


def company_card(*, user, pk) -> Company:
    """The company of its card in two queries, as contact_card."""
    company = card_record(user, Company, pk)
    card_relations(user, company)
    return company


def card_record(user, model: type[Contact] | type[Company], pk):
    """The client `pk` within the user's view scope, with its owner (name fields only)
    and its summary: what `get_visible(user, model.objects.select_related("owner",
    "summary"), pk)` gives, in one read written in SQL. A miss goes to get_visible, which
    raises NotFound (404) and logs the denial when the record exists out of scope."""
    from django.contrib.auth import get_user_model
    from django.db import connections

    from svyaz.contacts.models import ClientSummary
    from svyaz.core.timeline import from_raw

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return get_visible(user, model.objects.all(), pk)  # raises NotFound
    where, params = _scope_where(user, model.objects.filter(pk=pk))
    users = get_user_model()
    owner_fields = ("id", "first_name", "last_name", "username")
    fields = [f.attname for f in model._meta.concrete_fields]
    summary_fields = [f.attname for f in ClientSummary._meta.concrete_fields]
    table = f'"{model._meta.db_table}"'
    select = ", ".join(
        [
            *(f'{table}."{f.column}"' for f in model._meta.concrete_fields),
            *(f'u."{name}"' for name in owner_fields),
            *(f's."{f.column}"' for f in ClientSummary._meta.concrete_fields),
        ]
    )
    sql = (
        f"SELECT {select} "  # noqa: S608
        f'FROM {table} LEFT JOIN "{users._meta.db_table}" u ON u.id = {table}.owner_id '
        f'LEFT JOIN "{ClientSummary._meta.db_table}" s '
        f"ON s.{model._meta.model_name}_id = {table}.id WHERE {where}"
    )
    connection = connections[model.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return get_visible(user, model.objects.all(), pk)  # raises NotFound, logs a denial
    n, m = len(fields), len(fields) + len(owner_fields)
    obj = from_raw(model, fields, connection)(row[:n])
    if obj.owner_id is not None:
        obj.owner = from_raw(users, owner_fields, connection)(row[n:m])
    summary = None
    if row[m] is not None:
        summary = from_raw(ClientSummary, summary_fields, connection)(row[m:])
        setattr(summary, model._meta.model_name, obj)
    model.summary.related.set_cached_value(obj, summary)  # as select_related does
    return obj


def card_relations(user, obj: Contact | Company, *, limit: int = 20) -> None:
    """Everything a card shows around a client, in one UNION ALL read of plain SQL (the
    ORM's building of nine queries was most of the card's time):

    - its phones, e-mails, addresses and tags, and its companies (a contact) or contacts
      (a company) in the user's scope, put where prefetch_related puts them, in the order
      contact_get / company_get give, so `obj.phones.all()` and the rest (and the
      completeness badge) read no more;
    - `obj.card_custom_fields`: the entity's custom field definitions, (code, label);
    - `obj.card_related`: what client_related gives, as tuples — "deals" (pk, title,
      stage name, amount, currency), "orders" (pk, number, ordered_at, amount, currency),
      "open_tasks" (pk, title, due_at, status, assignee id, first name, last name,
      username), `limit` of each, in client_related's order.

    Scope: each of the other records is filtered by the WHERE clause visible_to gives its
    model (`_scope_where`); the client itself must come from a scoped read."""
    from django.db import connections

    from svyaz.core.models import Tag
    from svyaz.core.timeline import raw_converter
    from svyaz.followups.models import Followup, FollowupStatus
    from svyaz.sales.models import Deal, Order

    owner = obj._meta.model_name  # "contact" | "company"
    other_model = Company if owner == "contact" else Contact
    where = {
        "orders": _scope_where(user, Order.objects.filter(**{owner: obj.pk})),
        "deals": _scope_where(user, Deal.objects.filter(**{owner: obj.pk})),
        "tasks": _scope_where(
            user,
            Followup.objects.filter(status=FollowupStatus.OPEN, **{owner: obj.pk}),
            extra_owner_fields=("assignee",),
        ),
        "members": _scope_where(user, other_model.objects.all()),
    }
    params = [
        *where["orders"][1],
        limit,
        *where["deals"][1],
        limit,
        *where["tasks"][1],
        limit,
        *[obj.pk] * 5,
        *where["members"][1],
        owner,
    ]
    sql = _card_sql(owner).format(**{name: sql for name, (sql, _params) in where.items()})
    db = obj._state.db or "default"
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    to_amount = raw_converter(Order._meta.get_field("amount"), connection)  # deals' alike
    to_time = raw_converter(Order._meta.get_field("ordered_at"), connection)  # due_at alike
    found: dict[str, list] = {kind: [] for kind in ("o", "d", "f", "p", "e", "a", "t", "m", "c")}
    owners = (obj.pk, None) if owner == "contact" else (None, obj.pk)  # contact_id, company_id
    other = "company" if owner == "contact" else "contact"
    shown = "name" if owner == "contact" else "full_name"  # what the card shows of it
    for kind, sort, _text, pk, ref, flag, a, b, c, d, e, f, amount, at in rows:
        if kind == "o":
            row = (pk, a, to_time(at), to_amount(amount), c)
        elif kind == "d":
            row = (pk, a, b, to_amount(amount), c)
        elif kind == "f":
            row = (pk, a, to_time(at), e, ref, b, c, d)
        elif kind == "p":
            row = Phone.from_db(db, _PHONE, (pk, *owners, a, b, c, sort == 0))
        elif kind == "e":
            row = Email.from_db(db, _EMAIL, (pk, *owners, a, b, sort == 0))
        elif kind == "a":
            row = Address.from_db(db, _ADDRESS, (pk, *owners, a, b, c, d, e, f))
        elif kind == "t":
            row = Tag.from_db(db, ("id", "name", "color"), (pk, a, b))
        elif kind == "m":
            pair = (obj.pk, ref) if owner == "contact" else (ref, obj.pk)
            row = ContactCompany.from_db(db, _MEMBERSHIP, (pk, *pair, a, bool(flag)))
            # The other side with the one field the card shows (the rest deferred).
            setattr(row, other, other_model.from_db(db, ("id", shown), (ref, b)))
        else:  # "c"
            row = (a, b)
        if kind in ("p", "e", "a", "m"):
            setattr(row, owner, obj)  # as a prefetch sets the reverse side
        found[kind].append(row)
    cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
    for kind, accessor, model in (
        ("p", "phones", Phone),
        ("e", "emails", Email),
        ("a", "addresss", Address),
        ("t", "tags", Tag),
        ("m", "memberships", ContactCompany),
    ):
        qs = model._base_manager.all()
        qs._result_cache = found[kind]
        qs._prefetch_done = True
        cache[accessor] = qs
    obj.card_custom_fields = found["c"]
    obj.card_related = {"deals": found["d"], "orders": found["o"], "open_tasks": found["f"]}


def _scope_where(user, qs: QuerySet, **scope) -> tuple[str, list]:
    """The WHERE clause of `visible_to(user, qs)` as SQL on the model's own table name
    (a scope is a filter on the record's own columns), and its params; "1 = 0" when the
    user may see none."""
    from django.core.exceptions import EmptyResultSet

    query = visible_to(user, qs, **scope).query
    try:
        sql, params = query.get_compiler(qs.db).compile(query.where)
    except EmptyResultSet:
        return "1 = 0", []
    return sql or "1 = 1", list(params)


@functools.cache
def _card_sql(owner: str) -> str:
    """card_relations' query for a contact's ("contact") or a company's card, with
    `{orders}`, `{deals}`, `{tasks}` and `{members}` standing for the scope WHERE clauses.
    Params, in order: those of orders' clause, the limit, deals' ditto, tasks' ditto, the
    record's pk five times, those of members' clause, the entity.

    Columns: kind, sort int, sort text, id, ref (int), flag (int), a…f (text), amount,
    at. NULLs are typed (PostgreSQL resolves UNION types pair by pair); deals, orders and
    tasks are sorted and limited in a subquery each and keep their rank as the sort int;
    all rows come sorted by kind, then the sort columns, then id."""
    from svyaz.core.models import CustomField, Tag
    from svyaz.followups.models import Followup
    from svyaz.sales.models import Deal, Order, Stage

    user_model = Followup._meta.get_field("assignee").related_model

    def t(model) -> str:
        return f'"{model._meta.db_table}"'

    order, deal, task = t(Order), t(Deal), t(Followup)
    other = "company" if owner == "contact" else "contact"
    other_table = t(Company if owner == "contact" else Contact)
    tags = t(Contact.tags.through if owner == "contact" else Company.tags.through)
    first = "CASE WHEN is_primary THEN 0 ELSE 1 END"  # primary first
    i, n, ts = "CAST(NULL AS BIGINT)", "CAST(NULL AS NUMERIC)", "CAST(NULL AS TIMESTAMP)"
    # A contact's companies: primary first, then by membership id; a company's contacts:
    # by name, then by membership id.
    if owner == "contact":
        shown = f"{other_table}.name"
        member_sort = "CASE WHEN m.is_primary THEN 0 ELSE 1 END, ''"
    else:
        shown = f"{other_table}.full_name"
        member_sort = f"0, {shown}"
    # Table names come from the models and every value is a parameter.
    return (
        f"SELECT 'o', rn, '', id, {i}, {i}, num, NULL, cur, NULL, NULL, NULL, amount, at "  # noqa: S608
        f"FROM (SELECT ROW_NUMBER() OVER (ORDER BY {order}.ordered_at DESC, {order}.id DESC) "
        f"AS rn, {order}.id AS id, {order}.number AS num, {order}.currency AS cur, "
        f"{order}.amount AS amount, {order}.ordered_at AS at FROM {order} WHERE {{orders}} "
        f"ORDER BY {order}.ordered_at DESC, {order}.id DESC LIMIT %s) o "
        f"UNION ALL SELECT 'd', rn, '', id, {i}, {i}, title, stage, cur, NULL, NULL, NULL, "
        f"amount, {ts} FROM (SELECT ROW_NUMBER() OVER (ORDER BY {deal}.created_at DESC, "
        f"{deal}.id DESC) AS rn, {deal}.id AS id, {deal}.title AS title, s.name AS stage, "
        f"{deal}.currency AS cur, {deal}.amount AS amount FROM {deal} JOIN {t(Stage)} s "
        f"ON s.id = {deal}.stage_id WHERE {{deals}} "
        f"ORDER BY {deal}.created_at DESC, {deal}.id DESC LIMIT %s) d "
        f"UNION ALL SELECT 'f', rn, '', id, who, {i}, title, fn, ln, un, st, NULL, {n}, at "
        f"FROM (SELECT ROW_NUMBER() OVER (ORDER BY {task}.due_at, {task}.id) AS rn, "
        f"{task}.id AS id, {task}.title AS title, {task}.assignee_id AS who, "
        f"u.first_name AS fn, u.last_name AS ln, u.username AS un, {task}.status AS st, "
        f"{task}.due_at AS at FROM {task} JOIN {t(user_model)} u ON u.id = {task}.assignee_id "
        f"WHERE {{tasks}} ORDER BY {task}.due_at, {task}.id LIMIT %s) f "
        f"UNION ALL SELECT 'p', {first}, '', id, {i}, {i}, number, digits, kind, NULL, NULL, "
        f"NULL, {n}, {ts} FROM {t(Phone)} WHERE {owner}_id = %s "
        f"UNION ALL SELECT 'e', {first}, '', id, {i}, {i}, email, kind, NULL, NULL, NULL, NULL, "
        f"{n}, {ts} FROM {t(Email)} WHERE {owner}_id = %s "
        f"UNION ALL SELECT 'a', 0, '', id, {i}, {i}, kind, country, region, city, street, "
        f"postal_code, {n}, {ts} FROM {t(Address)} WHERE {owner}_id = %s "
        f"UNION ALL SELECT 't', 0, g.name, g.id, {i}, {i}, g.name, g.color, NULL, NULL, NULL, "
        f"NULL, {n}, {ts} FROM {t(Tag)} g JOIN {tags} x ON x.tag_id = g.id "
        f"WHERE x.{owner}_id = %s "
        f"UNION ALL SELECT 'm', {member_sort}, m.id, m.{other}_id, "
        f"CASE WHEN m.is_primary THEN 1 ELSE 0 END, m.role, {shown}, NULL, NULL, NULL, NULL, "
        f"{n}, {ts} FROM {t(ContactCompany)} m JOIN {other_table} "
        f"ON {other_table}.id = m.{other}_id WHERE m.{owner}_id = %s AND {{members}} "
        f"UNION ALL SELECT 'c', \"position\", '', id, {i}, {i}, code, label, NULL, NULL, NULL, "
        f"NULL, {n}, {ts} FROM {t(CustomField)} WHERE entity = %s "
        "ORDER BY 1, 2, 3, 4"
    )


# Field names (attnames) in the order of the models' concrete fields, for from_db.
_PHONE = ("id", "contact_id", "company_id", "number", "digits", "kind", "is_primary")
_EMAIL = ("id", "contact_id", "company_id", "email", "kind", "is_primary")
_ADDRESS = (
    "id",
    "contact_id",
    "company_id",
    "kind",
    "country",
    "region",
    "city",
    "street",
    "postal_code",
)
_MEMBERSHIP = ("id", "contact_id", "company_id", "role", "is_primary")


def client_summary(obj):
    """The ClientSummary of a contact or company, or None (a client with none is a lead)."""
    from svyaz.contacts.models import ClientSummary

    try:
        return obj.summary
    except ClientSummary.DoesNotExist:
        return None


def custom_values_display(
    obj, entity: str, hidden=frozenset(), fields: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """(label, value) of each defined custom field the record has a value for, except
    the `hidden` ones (`cf_<code>`: field rules of the user's roles). `fields`: the
    entity's definitions as (code, label) pairs when already read (card_relations)."""
    from django.utils.translation import gettext as _

    from svyaz.core.custom_fields import definitions

    out = []
    values = obj.custom or {}
    if not values:
        return out
    if fields is None:
        fields = [(d.code, d.label) for d in definitions(entity)]
    for code, label in fields:
        if code not in values or f"cf_{code}" in hidden:
            continue
        value = values[code]
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        elif value is True:
            value = _("Yes")
        elif value is False:
            value = _("No")
        out.append((label, str(value)))
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
