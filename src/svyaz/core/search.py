"""Case-insensitive text matching that works for Cyrillic on SQLite and PostgreSQL,
and the global search across entities.

SQLite's LIKE and LOWER() fold ASCII only, so `icontains` misses "иван" in "Иван".
`Casefold(expr)` compiles to LOWER() on PostgreSQL (Unicode-aware) and to a Python
function registered on the SQLite connection; callers compare it with `q.lower()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Exists, F, Func, OuterRef, Q, QuerySet

from svyaz.core.phones import phone_search_keys

_SQLITE_FUNC = "svyaz_lower"


def _py_lower(value):
    return value.lower() if isinstance(value, str) else value


def _register_sqlite(connection) -> None:
    connection.ensure_connection()
    raw = connection.connection
    # sqlite3 connections take no attributes: remember the registration on the wrapper.
    if getattr(connection, "_svyaz_lower_for", None) != id(raw):
        raw.create_function(_SQLITE_FUNC, 1, _py_lower, deterministic=True)
        connection._svyaz_lower_for = id(raw)


class Casefold(Func):
    """LOWER(expr), Unicode-aware on every backend."""

    function = "LOWER"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        _register_sqlite(connection)
        return super().as_sql(compiler, connection, function=_SQLITE_FUNC, **extra_context)


def fold(text: str) -> str:
    return (text or "").strip().lower()


def text_q(annotation: str, q: str) -> Q:
    """Every word of `q` occurs in the folded annotation ("иван петров" finds "Петров Иван")."""
    cond = Q()
    for word in fold(q).split()[:6]:
        cond &= Q(**{f"{annotation}__contains": word})
    return cond


def digit_count(q: str) -> int:
    return sum(ch.isdigit() for ch in q)


def _phone_keys(q: str) -> list[str]:
    """phone_search_keys plus the Russian trunk prefix for fragments: "8 916 123" → "7916123"."""
    keys = phone_search_keys(q)
    from django.conf import settings

    if settings.SVYAZ_DEFAULT_REGION == "RU" and not q.strip().startswith("+"):
        keys += ["7" + k[1:] for k in keys if k.startswith("8") and len(k) >= 4]
    return list(dict.fromkeys(keys))


def phone_exists(model, owner_field: str, q: str) -> Q | None:
    """Q matching records that own a phone whose digits match what was typed, in any
    format: "8 (916) 123-45-67", "+7 916 1234567" and "9161234567" find the same row."""
    if digit_count(q) < 3 or any(ch.isalpha() for ch in q):
        return None
    cond = Q()
    for key in _phone_keys(q):
        cond |= Q(digits__contains=key)
    sub = model.objects.filter(cond, **{owner_field: OuterRef("pk")})
    return Q(Exists(sub))


def email_exists(model, owner_field: str, q: str) -> Q | None:
    if "@" not in q and "." not in q:
        return None
    sub = model.objects.filter(email__icontains=q.strip(), **{owner_field: OuterRef("pk")})
    return Q(Exists(sub))


def phone_owner_ids(model, owner_field: str, q: str) -> QuerySet | None:
    """Ids of the owners (`owner_field`: "contact" or "company") of phones matching `q`,
    as a subquery; None when `q` does not look like a phone. Same matching as
    `phone_exists`, shaped for an index-driven `pk IN (…)` (trigram index on PostgreSQL)."""
    if digit_count(q) < 3 or any(ch.isalpha() for ch in q):
        return None
    cond = Q()
    for key in _phone_keys(q):
        cond |= Q(digits__contains=key)
    return model.objects.filter(cond, **{f"{owner_field}__isnull": False}).values(
        f"{owner_field}_id"
    )


def email_owner_ids(model, owner_field: str, q: str) -> QuerySet | None:
    """Like `phone_owner_ids` for e-mail addresses (same matching as `email_exists`)."""
    if "@" not in q and "." not in q:
        return None
    return model.objects.filter(
        email__icontains=q.strip(), **{f"{owner_field}__isnull": False}
    ).values(f"{owner_field}_id")


def matching_ids(parts: list[QuerySet]) -> Q:
    """`pk IN (a UNION b UNION …)`: each part can use its own index, where
    `a OR EXISTS(b) OR …` makes the database read every row of the outer table."""
    if not parts:
        return Q(pk__in=[])
    parts = [part.order_by() for part in parts]  # no ORDER BY inside a compound statement
    union = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return Q(pk__in=union)


@dataclass
class SearchGroup:
    key: str
    title: Any
    results: list[dict[str, Any]] = field(default_factory=list)


def result_order(field: str, q: str, db: str = "default"):
    """The sort of a search group by `field` (then pk), shaped so PostgreSQL filters first.

    Sorted by a plain column, `LIMIT 5` makes PostgreSQL walk that column's index and test
    every row until 5 match: a Cyrillic name sorts after every Latin one, so "рябо" read
    20,000+ rows (400 ms under load) although its trigram index finds the 182 matches in
    a few ms. `COALESCE(field, '')` sorts the same (the columns are NOT NULL) but no index
    provides it, so the matches come from the trigram index and only they are sorted. For
    fragments shorter than 3 letters (no trigram) the index walk stays the better plan."""
    from django.db import connections
    from django.db.models import Value
    from django.db.models.functions import Coalesce

    words = fold(q).split()
    if connections[db].vendor == "postgresql" and words and min(map(len, words)) >= 3:
        return Coalesce(F(field), Value(""))
    return F(field)


def annotate_folded(qs: QuerySet, **fields: str) -> QuerySet:
    return qs.annotate(**{name: Casefold(F(src)) for name, src in fields.items()})


def global_search(*, user, q: str, limit: int = 5) -> list[SearchGroup]:
    """Grouped results across contacts, companies, deals and leads; every group comes
    from a scoped selector, so a user finds only what they may see."""
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _

    from svyaz.contacts import selectors as contact_selectors

    q = (q or "").strip()[:100]
    if len(q) < 2:
        return []
    groups: list[SearchGroup] = []
    from svyaz.core.scoping import hidden_fields

    # Field rules: a hint naming a hidden field is left out.
    show_title = "job_title" not in hidden_fields(user, "contacts")
    show_inn = "inn" not in hidden_fields(user, "companies")

    contacts = contact_selectors.contact_search(contact_selectors.contact_list(user=user), q)
    groups.append(
        SearchGroup(
            "contacts",
            _("Contacts"),
            [
                {
                    "title": c.full_name,
                    "url": reverse("contacts:contact_detail", args=[c.pk]),
                    "hint": c.job_title if show_title else "",
                }
                for c in contacts.order_by(result_order("full_name", q), "pk")[:limit]
            ],
        )
    )
    companies = contact_selectors.company_search(contact_selectors.company_list(user=user), q)
    groups.append(
        SearchGroup(
            "companies",
            _("Companies"),
            [
                {
                    "title": c.name,
                    "url": reverse("contacts:company_detail", args=[c.pk]),
                    "hint": c.inn if show_inn else "",
                }
                for c in companies.order_by(result_order("name", q), "pk")[:limit]
            ],
        )
    )
    groups.append(SearchGroup("deals", _("Deals"), _deal_results(user, q, limit)))
    groups.append(SearchGroup("leads", _("Leads"), _lead_results(user, q, limit)))
    return [g for g in groups if g.results]


def _deal_results(user, q: str, limit: int) -> list[dict[str, Any]]:
    from django.urls import reverse

    from svyaz.core.scoping import visible_to
    from svyaz.sales.models import Deal

    qs = annotate_folded(visible_to(user, Deal.objects.all()), _title_lc="title")
    qs = qs.filter(text_q("_title_lc", q)).select_related("stage").order_by("-created_at", "-pk")
    return [
        {"title": d.title, "url": reverse("sales:deal_detail", args=[d.pk]), "hint": d.stage.name}
        for d in qs[:limit]
    ]


def _lead_results(user, q: str, limit: int) -> list[dict[str, Any]]:
    from django.urls import reverse

    from svyaz.core.scoping import visible_to
    from svyaz.sales.models import Lead

    qs = annotate_folded(
        visible_to(user, Lead.objects.all()),
        _title_lc="title",
        _first_lc="first_name",
        _last_lc="last_name",
        _company_lc="company_name",
    )
    word_cond = Q()
    for word in fold(q).split()[:6]:
        word_cond &= (
            Q(_title_lc__contains=word)
            | Q(_first_lc__contains=word)
            | Q(_last_lc__contains=word)
            | Q(_company_lc__contains=word)
        )
    cond = word_cond
    if "@" in q:
        cond |= Q(email__icontains=q)
    compact = q.replace(" ", "")
    has_inn = any(f.name == "company_inn" for f in Lead._meta.get_fields())
    if has_inn and compact.isdigit() and len(compact) in (10, 12):
        cond |= Q(company_inn=compact)
    if digit_count(q) >= 3 and not any(ch.isalpha() for ch in q):
        # Lead.phone is free text as typed; compare digits with the separators removed.
        from django.db.models import Value
        from django.db.models.functions import Replace

        stripped = F("phone")
        for ch in (" ", "-", "(", ")", "+", "."):
            stripped = Replace(stripped, Value(ch), Value(""))
        qs = qs.annotate(_phone_digits=stripped)
        for key in _phone_keys(q):
            cond |= Q(_phone_digits__contains=key)
            if key.startswith("7") and len(key) == 11:
                cond |= Q(_phone_digits__contains="8" + key[1:])
    qs = qs.filter(cond).order_by("-created_at", "-pk")
    return [
        {
            "title": lead.title,
            "url": reverse("sales:lead_detail", args=[lead.pk]),
            "hint": " ".join(p for p in (lead.last_name, lead.first_name) if p),
        }
        for lead in qs[:limit]
    ]
