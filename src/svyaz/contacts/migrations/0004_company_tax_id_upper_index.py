"""An index for the global search's tax id match (issue #6, round 2 of speed work).

company_search matches `tax_id__iexact`, which compiles to UPPER(tax_id) = UPPER(…) on
PostgreSQL: without an index on that expression every search of 4+ characters read the
whole company table once more. PostgreSQL only, like 0003; nothing on SQLite.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS company_tax_id_upper ON contacts_company (UPPER(tax_id::text))"
    )
    schema_editor.execute("ANALYZE contacts_company")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS company_tax_id_upper")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_search_trigram_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
