"""Indexes the benchmarks asked for (issue #6).

- deal_board_stage_idx: the board's cards are the newest-moved deals of each stage
  (pipeline, stage, stage_changed_at DESC, id DESC); the existing deal_board_idx sorts by
  created_at, which the board does not use.
- deal_title_trgm (PostgreSQL only): LOWER(title) LIKE '%…%' of the global search.
"""

from django.db import migrations, models


def create_trgm(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS deal_title_trgm ON sales_deal USING gin "
        "(LOWER(title) gin_trgm_ops)"
    )
    schema_editor.execute("ANALYZE sales_deal")  # statistics of the indexed expression


def drop_trgm(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS deal_title_trgm")


class Migration(migrations.Migration):
    dependencies = [("sales", "0002_lead_company_inn")]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["pipeline", "stage", "-stage_changed_at", "-id"],
                name="deal_board_stage_idx",
            ),
        ),
        migrations.RunPython(create_trgm, drop_trgm, elidable=False),
    ]
