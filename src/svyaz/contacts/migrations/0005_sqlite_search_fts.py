"""SQLite FTS5 trigram tables for the global search and the lists' search box (issue #6).

SQLite only: on PostgreSQL this migration does nothing (0003 and sales.0003 give it
pg_trgm indexes). On SQLite the search folds case with a Python function
(core.search.Casefold) that costs a call per row; FTS5's trigram tokenizer folds Unicode
case in C and finds substrings of 3+ characters by index, so the search code
(core.search.fts_filter) takes candidate ids from these tables and then applies its
exact filter to those few rows only.

Each table holds its own copy of the searched text (rowid = the source row's id) and is
kept in step by AFTER INSERT / UPDATE / DELETE triggers on the source table, so every
write path (services, imports, the generator, raw SQL) updates it. Soft-deleted rows stay
in the index; the querysets filter them as before.

Names, titles and company names are indexed with U+0130 (İ) replaced by "i̇", which is
what Python's str.lower() turns it into; FTS5 leaves it unfolded. Phone digits and
e-mails (matched with LIKE, not lower()) are indexed as they are.

NOTE: on SQLite a later migration that rebuilds one of the source tables (Django's
"remake table": most AlterField/RemoveField operations) drops its triggers. The search
code checks that every table and trigger exists and falls back to the plain scan when
one is missing (tests/core_search/test_sqlite_fts.py fails then); such a migration must
re-run `create` below for that table.
"""

from django.db import migrations

# ruff: noqa: S608 (table and column names are the constants below)

I_DOT = "\u0130"
I_DOT_LOWER = "i\u0307"  # "İ".lower()

# (FTS table, source table, columns, folded like str.lower())
TABLES = [
    ("contacts_fts_contact", "contacts_contact", ["full_name"], True),
    ("contacts_fts_company", "contacts_company", ["name", "legal_name"], True),
    ("contacts_fts_phone", "contacts_phone", ["digits"], False),
    ("contacts_fts_email", "contacts_email", ["email"], False),
    ("contacts_fts_deal", "sales_deal", ["title"], True),
    ("contacts_fts_lead", "sales_lead", ["title", "first_name", "last_name", "company_name"], True),
]


def _values(prefix, columns, folded):
    if not folded:
        return ", ".join(f"{prefix}{c}" for c in columns)
    return ", ".join(f"replace({prefix}{c}, '{I_DOT}', '{I_DOT_LOWER}')" for c in columns)


def create_one(schema_editor, fts, source, columns, folded):
    cols = ", ".join(columns)
    execute = schema_editor.execute
    execute(f"DROP TABLE IF EXISTS {fts}")
    execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, tokenize='trigram case_sensitive 0')")
    execute(
        f"INSERT INTO {fts}(rowid, {cols}) SELECT id, {_values('', columns, folded)} FROM {source}"
    )
    new = _values("new.", columns, folded)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ["id", *columns])
    for name in (f"{fts}_ai", f"{fts}_ad", f"{fts}_au"):
        execute(f"DROP TRIGGER IF EXISTS {name}")
    execute(
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {source} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
    )
    execute(
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {source} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; END"
    )
    execute(
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF id, {cols} ON {source} "
        f"WHEN {changed} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
    )


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for fts, source, columns, folded in TABLES:
        create_one(schema_editor, fts, source, columns, folded)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for fts, _source, _columns, _folded in TABLES:
        for suffix in ("ai", "ad", "au"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_company_tax_id_upper_index"),
        ("sales", "0003_deal_board_and_search_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
