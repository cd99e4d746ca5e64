"""Trigram indexes for the global search and the list's search box (issue #6).

PostgreSQL only: on SQLite this migration does nothing (SQLite has no pg_trgm; its
embedded sizes are served by scans). The expressions match exactly what the search code
compiles to: LOWER(full_name) / LOWER(name) / LOWER(legal_name) LIKE '%…%' (core.search
Casefold), digits LIKE '%…%' (phone_exists) and UPPER(email::text) LIKE UPPER('%…%')
(icontains on email_exists), so "contains" searches use a bitmap index scan instead of
reading every row.
"""

from django.db import migrations

INDEXES = [
    ("contact_fullname_trgm", "contacts_contact", "LOWER(full_name) gin_trgm_ops"),
    ("company_name_trgm", "contacts_company", "LOWER(name) gin_trgm_ops"),
    ("company_legal_trgm", "contacts_company", "LOWER(legal_name) gin_trgm_ops"),
    ("phone_digits_trgm", "contacts_phone", "digits gin_trgm_ops"),
    ("email_email_trgm", "contacts_email", "UPPER(email::text) gin_trgm_ops"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expr in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expr})")
    # Statistics of the indexed expressions let the planner see how rare a match is;
    # without them it walks the sort index of the whole table looking for 5 matches.
    for table in sorted({table for _name, table, _expr in INDEXES}):
        schema_editor.execute(f"ANALYZE {table}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expr in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
