"""Keep the SQLite search tables of contacts.0005 whole after later migrations.

On SQLite, Django rebuilds a table for most field changes ("remake table"), and that drops
the table's triggers — the search index would then silently go stale (the search code
notices and falls back to the slow scan). After every `migrate`, this re-creates the FTS
table and triggers of any source table that lost them, with the migration's own code.
"""

from __future__ import annotations

import importlib

from django.db import connections

_MIGRATION = "svyaz.contacts.migrations.0005_sqlite_search_fts"


class _Executor:
    def __init__(self, cursor):
        self.execute = cursor.execute


def repair_search_tables(using: str = "default", **_kwargs) -> list[str]:
    """Re-create the FTS tables whose triggers are missing; returns their names."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = 'contacts'")
        if "0005_sqlite_search_fts" not in {row[0] for row in cursor.fetchall()}:
            return []
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
    migration = importlib.import_module(_MIGRATION)
    repaired = []
    with connection.cursor() as cursor:
        editor = _Executor(cursor)  # create_one needs only .execute(sql)
        for fts, source, columns, folded in migration.TABLES:
            wanted = {fts, f"{fts}_ai", f"{fts}_ad", f"{fts}_au"}
            if wanted <= present:
                continue
            migration.create_one(editor, fts, source, columns, folded)
            repaired.append(fts)
    if repaired and hasattr(connection, "_svyaz_fts_ready"):
        del connection._svyaz_fts_ready
    return repaired
