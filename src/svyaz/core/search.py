"""Case-insensitive text matching that works for Cyrillic on SQLite and PostgreSQL,
and the global search across entities.

SQLite's LIKE and LOWER() fold ASCII only, so `icontains` misses "иван" in "Иван".
`Casefold(expr)` compiles to LOWER() on PostgreSQL (Unicode-aware) and to a Python
function registered on the SQLite connection; callers compare it with `q.lower()`.
"""

from __future__ import annotations

import functools
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
    keys = _phone_keys(q)
    cond = Q()
    for key in keys:
        cond |= Q(digits__contains=key)
    fts = fts_filter("phone", keys, db=model.objects.db, op="OR", lowered=False)
    if fts is not None:
        cond = fts & cond
    return model.objects.filter(cond, **{f"{owner_field}__isnull": False}).values(
        f"{owner_field}_id"
    )


def email_owner_ids(model, owner_field: str, q: str) -> QuerySet | None:
    """Like `phone_owner_ids` for e-mail addresses (same matching as `email_exists`)."""
    if "@" not in q and "." not in q:
        return None
    cond = Q(email__icontains=q.strip())
    fts = fts_filter("email", [q.strip()], db=model.objects.db, op="OR", lowered=False)
    if fts is not None:
        cond = fts & cond
    return model.objects.filter(cond, **{f"{owner_field}__isnull": False}).values(
        f"{owner_field}_id"
    )


# SQLite FTS5 trigram tables (contacts.0005): the key used by the search code → table.
FTS_TABLES = {
    "contact": "contacts_fts_contact",
    "company": "contacts_fts_company",
    "phone": "contacts_fts_phone",
    "email": "contacts_fts_email",
    "deal": "contacts_fts_deal",
    "lead": "contacts_fts_lead",
}
FTS_MIN_CHARS = 3  # a trigram index finds nothing shorter


def _fts_ready(connection) -> bool:
    """Every FTS table and trigger of contacts.0005 exists on this (SQLite) connection.

    Checked once per raw connection through the sqlite3 module (not a Django cursor, so
    pinned query counts do not change). A later migration that rebuilt a source table
    would have dropped its triggers: the index would be stale, so the search falls back."""
    if connection.vendor != "sqlite":
        return False
    connection.ensure_connection()
    raw = connection.connection
    cached = getattr(connection, "_svyaz_fts_ready", None)
    if cached is not None and cached[0] == id(raw):
        return cached[1]
    names = set(FTS_TABLES.values())
    names |= {f"{t}_{suffix}" for t in FTS_TABLES.values() for suffix in ("ai", "ad", "au")}
    placeholders = ", ".join("?" * len(names))
    found = raw.execute(
        f"SELECT count(*) FROM sqlite_master WHERE name IN ({placeholders})",  # noqa: S608
        sorted(names),
    ).fetchone()[0]
    ready = found == len(names)
    connection._svyaz_fts_ready = (id(raw), ready)
    return ready


_LAST_CASED = 0x1E921  # ADLAM CAPITAL LETTER SHA; checked in tests/core_search/test_sqlite_fts.py


@functools.cache
def _fold_unsafe_chars() -> frozenset[str]:
    """Characters a lower-cased search word must not contain for the FTS path.

    FTS5 folds case with its own (older) Unicode tables: for about 400 code points
    (Cherokee, Georgian Mtavruli, some Greek and Cyrillic supplements…) Python's
    `str.lower()` gives a letter FTS5 does not fold the capital to, so a word holding that
    letter could match in Python and not in FTS5. Computed once per process against the
    linked SQLite, in memory: every code point whose lower() differs, folded by FTS5 and
    read back through fts5vocab. (U+0130 is indexed as its lower(), see contacts.0005;
    final sigma, which lower() picks by context, is checked too.)"""
    import sqlite3

    pairs = []
    for cp in range(_LAST_CASED + 1):  # no code point above changes with lower()
        ch = chr(cp)
        low = ch.lower()
        if low != ch and ch != "\u0130":
            pairs.append((ch, low))
    pairs.append(("\u03a3", "\u03c2"))  # Σ at a word's end lowers to ς
    unsafe: set[str] = set()
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram case_sensitive 0')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        rows = []
        for i, (ch, low) in enumerate(pairs):
            if len(low) != 1:
                unsafe.update(low)
                continue
            rows += [(2 * i, "ab" + ch), (2 * i + 1, "ab" + low)]
        db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", rows)
        folded = {doc: term for term, doc in db.execute("SELECT term, doc FROM v")}
    except sqlite3.Error:  # no FTS5 in this build: every character is unsafe
        return frozenset({""})
    finally:
        db.close()
    for i, (_ch, low) in enumerate(pairs):
        if len(low) == 1 and folded.get(2 * i) != folded.get(2 * i + 1):
            unsafe.add(low)
    return frozenset(unsafe)


def fts_quote(term: str) -> str:
    """One FTS5 string (a substring, for the trigram tokenizer): user input cannot add
    FTS syntax."""
    return '"' + term.replace('"', '""') + '"'


def _fts_usable(term: str, *, lowered: bool) -> bool:
    if len(term) < FTS_MIN_CHARS or any(ord(ch) < 32 for ch in term):
        return False
    if lowered:
        unsafe = _fold_unsafe_chars()
        if "" in unsafe or any(ch in unsafe for ch in term):
            return False
    return True


def fts_filter(
    key: str, terms: list[str], *, db: str = "default", op: str = "AND", lowered: bool = True
) -> Q | None:
    """`pk IN (SELECT rowid FROM <fts> WHERE <fts> MATCH …)` on SQLite, or None.

    Candidates only: the caller keeps its exact filter after it, so the result is the
    same as without this, the exact filter just runs on the candidates instead of every
    row. `terms` are what the exact filter looks for as substrings: lower-cased words
    (`lowered`, compared after `Casefold`) combined with AND — terms that cannot be
    searched this way (under 3 characters, unsafe to fold) are left to the exact filter;
    or alternatives (op "OR", LIKE-matched phone digits or e-mail text) — then every one
    must be searchable, or None. None on PostgreSQL or without the FTS tables."""
    from django.db import connections

    connection = connections[db]
    if connection.vendor != "sqlite":
        return None
    usable = [t for t in terms if _fts_usable(t, lowered=lowered)]
    if not usable or (op == "OR" and len(usable) != len(terms)):
        return None
    if not _fts_ready(connection):
        return None
    from django.db.models.expressions import RawSQL

    table = FTS_TABLES[key]
    match = f" {op} ".join(fts_quote(t) for t in dict.fromkeys(usable))
    sql = f"SELECT rowid FROM {table} WHERE {table} MATCH %s"  # noqa: S608 (fixed names)
    return Q(pk__in=RawSQL(sql, [match]))  # noqa: S611 (the text is a parameter)


def fts_words(q: str) -> list[str]:
    """The words `text_q` looks for."""
    return fold(q).split()[:6]


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
    from a scoped selector, so a user finds only what they may see.

    PostgreSQL: one statement for the four groups (`_pg_global_search`); elsewhere (SQLite,
    with its FTS5 candidates) one ORM query per group (`orm_global_search`). Both give the
    same groups, rows and order (tests/search_speed compares them)."""
    q = (q or "").strip()[:100]
    if len(q) < 2:
        return []
    found = _pg_global_search(user, q, limit)
    if found is not None:
        return found
    return orm_global_search(user=user, q=q, limit=limit)


def orm_global_search(*, user, q: str, limit: int = 5) -> list[SearchGroup]:
    """`global_search` through the selectors' querysets, one query per group."""
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
    cond = text_q("_title_lc", q)
    fts = fts_filter("deal", fts_words(q), db=qs.db)
    if fts is not None:
        cond = fts & cond
    qs = qs.filter(cond).select_related("stage").order_by("-created_at", "-pk")
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
    fts = fts_filter("lead", fts_words(q), db=qs.db)
    cond = word_cond if fts is None else fts & word_cond
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


# --- PostgreSQL: the four groups in one statement ------------------------------------------
# The SQL below is text built from fixed table and column names; everything the user typed
# goes in as a parameter (noqa S608 on those lines).


class _Unsupported(Exception):
    """A scope filter this module cannot inline: use the ORM path."""


def _scope_where(qs: QuerySet) -> tuple[str, tuple] | None:
    """The WHERE of a scoped selector's queryset (scope and soft delete) as SQL on its own
    table, unaliased: None when the user sees none of it. Compiled by Django from the same
    `visible_to` filter the ORM path uses, so the scoping cannot drift."""
    from django.core.exceptions import EmptyResultSet, FullResultSet

    query = qs.query
    if query.is_empty():
        return None
    table = query.model._meta.db_table
    # A filter on `owner_id` leaves the trimmed join in alias_map, unreferenced.
    joined = [a for a in query.alias_map if a != table and query.alias_refcount.get(a)]
    if joined or query.annotations or query.extra or query.extra_tables:
        raise _Unsupported(table)
    try:
        sql, params = query.get_compiler(qs.db).compile(query.where)
    except EmptyResultSet:
        return None
    except FullResultSet:
        return "TRUE", ()
    return sql, tuple(params)


class _Sql:
    """A piece of SQL with its parameters, built left to right."""

    def __init__(self, sql: str = "", *params: Any) -> None:
        self.parts: list[str] = [sql]
        self.params: list[Any] = list(params)

    def add(self, sql: str | _Sql, *params: Any) -> _Sql:
        if isinstance(sql, _Sql):
            self.parts += sql.parts
            self.params += sql.params
        else:
            self.parts.append(sql)
            self.params.extend(params)
        return self

    @property
    def sql(self) -> str:
        return "".join(self.parts)


def _all_words(expr: str, patterns: list[str]) -> _Sql:
    """`(expr LIKE %w1% AND expr LIKE %w2% …)`: text_q on a Casefold annotation."""
    return _Sql("(" + " AND ".join(f"{expr} LIKE %s" for _ in patterns) + ")", *patterns)


def _common_suffix(keys: list[str]) -> str:
    n = 0
    shortest = min(map(len, keys))
    while n < shortest and len({k[len(k) - 1 - n] for k in keys}) == 1:
        n += 1
    return keys[0][len(keys[0]) - n :]


_PROBE = 7  # digits of a phone probe: 5 trigrams, about one candidate in 1.5M numbers


def _phone_cte(q: str, like) -> _Sql | None:
    """Phones matching `q` (phone_owner_ids' condition), both owners, read once for the
    contacts and the companies groups.

    `digits LIKE '%79161234567%' OR digits LIKE '%89161234567%'` makes the trigram index
    intersect 9 very common digit trigrams twice (~130 index pages each at 1.5M phones);
    the keys share their tail, so the index is asked for the last 7 digits of that tail
    (5 trigrams, ~40 pages) and each candidate is checked with `strpos` (the same test as
    LIKE on a pattern without wildcards; not indexable, so the planner keeps the probe)."""
    if digit_count(q) < 3 or any(ch.isalpha() for ch in q):
        return None
    keys = _phone_keys(q)
    head = 'SELECT U0."contact_id", U0."company_id" FROM "contacts_phone" U0 WHERE '
    tail = _common_suffix(keys) if keys else ""
    if len(tail) >= 6 and (len(keys) > 1 or len(keys[0]) > _PROBE):
        checks = " OR ".join('strpos(U0."digits"::text, %s) > 0' for _ in keys)
        return _Sql(
            head + f'U0."digits"::text LIKE %s AND ({checks})',
            f"%{like(tail[-_PROBE:])}%",
            *keys,
        )
    cond = " OR ".join('U0."digits"::text LIKE %s' for _ in keys) or "TRUE"
    return _Sql(head + f"({cond})", *[f"%{like(k)}%" for k in keys])


def _email_cte(q: str, like) -> _Sql | None:
    """E-mails matching `q` (email_owner_ids' condition), both owners, read once.

    A whole address ("mayya.kudryashova294@inbox.ru") has ~28 trigrams, those of the
    domain shared by a large part of all addresses (~860 index pages at 900k e-mails); a
    long local part ("mayya.kudryashova294@", ~280 pages) is nearly as selective, so the
    index is asked for that and each candidate checked for the whole text."""
    if "@" not in q and "." not in q:
        return None
    text = q.strip()
    head = 'SELECT U0."contact_id", U0."company_id" FROM "contacts_email" U0 WHERE '
    local = text.split("@", 1)[0]
    # ASCII only: its UPPER is letter by letter, so UPPER(local@) is inside UPPER(text).
    if "@" in text and len(local) >= 8 and local.isascii():
        return _Sql(
            head + 'UPPER(U0."email"::text) LIKE UPPER(%s) '
            'AND strpos(UPPER(U0."email"::text), UPPER(%s)) > 0',
            f"%{like(local + '@')}%",
            text,
        )
    return _Sql(head + 'UPPER(U0."email"::text) LIKE UPPER(%s)', f"%{like(text)}%")


def _pg_global_search(user, q: str, limit: int) -> list[SearchGroup] | None:  # noqa: C901
    """`orm_global_search` as one SQL statement on PostgreSQL (None elsewhere).

    The ORM path costs ~10 ms of Python per request (building and compiling four querysets
    with their Casefold annotations and UNION subqueries) and four round trips; this builds
    the same conditions as text, each group sorted and `LIMIT`ed on its own, glued with
    UNION ALL; the phones and e-mails matching `q` are read once for contacts and companies
    (a CTE). The scope of each group is the WHERE Django compiles for the selector's
    `visible_to` queryset (`_scope_where`)."""
    from django.db import connections
    from django.utils.translation import gettext_lazy as _

    from svyaz.contacts import selectors as contact_selectors
    from svyaz.contacts.models import Contact
    from svyaz.core.scoping import hidden_fields, visible_to
    from svyaz.sales.models import Deal, Lead

    if connections[Contact.objects.db].vendor != "postgresql":
        return None
    querysets = (
        contact_selectors.contact_list(user=user),
        contact_selectors.company_list(user=user),
        visible_to(user, Deal.objects.all()),
        visible_to(user, Lead.objects.all()),
    )
    db = querysets[0].db
    connection = connections[db]
    if connection.vendor != "postgresql" or any(qs.db != db for qs in querysets):
        return None
    try:
        scopes = [_scope_where(qs) for qs in querysets]
    except _Unsupported:
        return None
    if not any(scopes):
        return []

    like = connection.ops.prep_for_like_query
    words = fold(q).split()[:6]
    patterns = [f"%{like(w)}%" for w in words]
    compact = q.replace(" ", "")
    long_words = bool(words) and min(map(len, words)) >= 3  # result_order's rule
    ctes = {"ph": _phone_cte(q, like), "em": _email_cte(q, like)}
    ctes = {name: cte for name, cte in ctes.items() if cte is not None}
    if not (scopes[0] or scopes[1]):
        ctes = {}
    branches: list[_Sql] = []

    def group(index: int, inner: _Sql, columns: str, order: str) -> None:
        """`SELECT <index>, ROW_NUMBER() OVER (<order>), id, title, hint, hint2` over the
        sorted, LIMITed inner query: the outer ORDER BY keeps each group's own order."""
        branches.append(
            _Sql(f"SELECT {index} AS g, ROW_NUMBER() OVER (ORDER BY {order}) AS rn, ")
            .add(f"{columns} FROM (")
            .add(inner)
            .add(f" LIMIT {int(limit)}) s")
        )

    def owners(owner: str) -> list[_Sql]:
        return [
            _Sql(f'SELECT {n}."{owner}_id" FROM {n} WHERE {n}."{owner}_id" IS NOT NULL')  # noqa: S608
            for n in ctes
        ]

    def union_in(pk: str, parts: list[_Sql]) -> _Sql:
        """`pk IN ((a) UNION (b) …)`, as `matching_ids`."""
        out = _Sql(f"{pk} IN (")
        for i, part in enumerate(parts):
            out.add(" UNION (" if i else "(").add(part).add(")")
        return out.add(")")

    # Contacts: contact_search(contact_list(user), q), ordered by result_order, pk. With
    # candidates from a UNION the COALESCE sort is taken whatever the word lengths: the
    # same order (NOT NULL column), and never a walk of the name index past them.
    if scopes[0] is not None:
        t = '"contacts_contact"'
        extra = owners("contact")
        key = f"COALESCE({t}.\"full_name\", '')" if long_words or extra else f'{t}."full_name"'
        inner = _Sql(
            f'SELECT {t}."id", {t}."full_name", {t}."job_title", {key} AS k '  # noqa: S608
            f"FROM {t} WHERE ({scopes[0][0]}) AND ",
            *scopes[0][1],
        )
        if extra:
            names = _Sql(f'SELECT U0."id" FROM {t} U0 WHERE ')  # noqa: S608
            names.add(_all_words('LOWER(U0."full_name")::text', patterns))
            inner.add(union_in(f'{t}."id"', [names, *extra]))
        else:
            inner.add(_all_words(f'LOWER({t}."full_name")::text', patterns))
        inner.add(f' ORDER BY {key} ASC, {t}."id" ASC')
        group(0, inner, "s.id, s.full_name::text, s.job_title::text, NULL::text", "s.k, s.id")

    # Companies: company_search(company_list(user), q), ordered by result_order, pk.
    if scopes[1] is not None:
        t = '"contacts_company"'
        key = f"COALESCE({t}.\"name\", '')"
        inner = _Sql(
            f'SELECT {t}."id", {t}."name", {t}."inn", {key} AS k '  # noqa: S608
            f"FROM {t} WHERE ({scopes[1][0]}) AND ",
            *scopes[1][1],
        )
        named = _Sql(f'SELECT U0."id" FROM {t} U0 WHERE (')  # noqa: S608
        named.add(_all_words('LOWER(U0."name")::text', patterns)).add(" OR ")
        named.add(_all_words('LOWER(U0."legal_name")::text', patterns)).add(")")
        parts = [named]
        if compact.isdigit() and len(compact) >= 4:
            parts.append(
                _Sql(
                    f'SELECT U0."id" FROM {t} U0 WHERE U0."inn"::text LIKE %s',  # noqa: S608
                    f"{like(compact)}%",
                )
            )
        if len(compact) >= 4:
            parts.append(
                _Sql(
                    f'SELECT U0."id" FROM {t} U0 WHERE UPPER(U0."tax_id"::text) = UPPER(%s)',  # noqa: S608
                    compact,
                )
            )
        inner.add(union_in(f'{t}."id"', parts + owners("company")))
        inner.add(f' ORDER BY {key} ASC, {t}."id" ASC')
        group(1, inner, "s.id, s.name::text, s.inn::text, NULL::text", "s.k, s.id")

    # Deals: title words, newest first (_deal_results).
    if scopes[2] is not None:
        t = '"sales_deal"'
        inner = _Sql(
            f'SELECT {t}."id", {t}."title", "sales_stage"."name", {t}."created_at" FROM {t} '  # noqa: S608
            f'INNER JOIN "sales_stage" ON ({t}."stage_id" = "sales_stage"."id") '
            f"WHERE ({scopes[2][0]}) AND ",
            *scopes[2][1],
        )
        inner.add(_all_words(f'LOWER({t}."title")::text', patterns))
        inner.add(f' ORDER BY {t}."created_at" DESC, {t}."id" DESC')
        group(
            2,
            inner,
            "s.id, s.title::text, s.name::text, NULL::text",
            "s.created_at DESC, s.id DESC",
        )

    # Leads: each word in the title, first or last name or company name; or the e-mail,
    # INN or phone digits (_lead_results).
    if scopes[3] is not None:
        t = '"sales_lead"'
        columns = ("title", "first_name", "last_name", "company_name")
        any_column = " OR ".join(f'LOWER({t}."{col}")::text LIKE %s' for col in columns)
        cond = _Sql("((" + ") AND (".join(any_column for _ in patterns) + "))")
        cond.params = [p for p in patterns for _col in columns]
        if "@" in q:
            cond.add(f' OR UPPER({t}."email"::text) LIKE UPPER(%s)', f"%{like(q)}%")
        has_inn = any(f.name == "company_inn" for f in Lead._meta.get_fields())
        if has_inn and compact.isdigit() and len(compact) in (10, 12):
            cond.add(f' OR {t}."company_inn" = %s', compact)
        if digit_count(q) >= 3 and not any(ch.isalpha() for ch in q):
            stripped = f'{t}."phone"'
            for ch in (" ", "-", "(", ")", "+", "."):
                stripped = f"REPLACE({stripped}, '{ch}', '')"
            for key in _phone_keys(q):
                cond.add(f" OR {stripped}::text LIKE %s", f"%{like(key)}%")
                if key.startswith("7") and len(key) == 11:
                    cond.add(f" OR {stripped}::text LIKE %s", f"%{like('8' + key[1:])}%")
        inner = _Sql(
            f'SELECT {t}."id", {t}."title", {t}."last_name", {t}."first_name", '  # noqa: S608
            f'{t}."created_at" FROM {t} WHERE ({scopes[3][0]}) AND (',
            *scopes[3][1],
        )
        inner.add(cond).add(f') ORDER BY {t}."created_at" DESC, {t}."id" DESC')
        group(
            3,
            inner,
            "s.id, s.title::text, s.last_name::text, s.first_name::text",
            "s.created_at DESC, s.id DESC",
        )

    statement = _Sql()
    if ctes:
        statement.add("WITH ")
        for i, (name, cte) in enumerate(ctes.items()):
            statement.add((", " if i else "") + f"{name} AS MATERIALIZED (").add(cte).add(")")
        statement.add(" ")
    for i, branch in enumerate(branches):
        statement.add(" UNION ALL " if i else "").add(branch)
    statement.add(" ORDER BY 1, 2")
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        rows = cursor.fetchall()

    show_title = "job_title" not in hidden_fields(user, "contacts")
    show_inn = "inn" not in hidden_fields(user, "companies")
    specs = (
        ("contacts", _("Contacts"), "contacts:contact_detail"),
        ("companies", _("Companies"), "contacts:company_detail"),
        ("deals", _("Deals"), "sales:deal_detail"),
        ("leads", _("Leads"), "sales:lead_detail"),
    )
    groups = [SearchGroup(key, title) for key, title, _url in specs]
    urls: dict[int, tuple[str, str]] = {}
    for g, _rn, pk, title, hint, hint2 in rows:
        if g not in urls:
            urls[g] = _url_parts(specs[g][2])
        if g == 0:
            hint = hint if show_title else ""
        elif g == 1:
            hint = hint if show_inn else ""
        elif g == 3:
            hint = " ".join(p for p in (hint, hint2) if p)
        head, tail = urls[g]
        groups[g].results.append({"title": title, "url": f"{head}{pk}{tail}", "hint": hint})
    return [g for g in groups if g.results]


def _url_parts(name: str) -> tuple[str, str]:
    """`reverse(name, args=[pk])` is head + pk + tail: reversed once, not once per row."""
    from django.urls import reverse

    head, _zero, tail = reverse(name, args=[0]).rpartition("0")
    return head, tail
