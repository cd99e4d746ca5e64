"""The board's per-column counts and totals kept by triggers (issue #6).

The board showed, for every stage, the number of live deals and their sum per currency,
aggregated over all the pipeline's deals on each request: at full scale ~400,000 rows,
~400 ms of SQL. sales_boardtotal holds the same figures as rows of changes
(pipeline, stage, currency, +n, +total), written by triggers on sales_deal in the same
transaction as the deal itself, so every write path is covered: the services, imports,
bulk actions and raw SQL, the recycle bin (soft delete, restore, purge), COPY.
A deal counts while `deleted_at IS NULL`, exactly like the board's own query.

- PostgreSQL: statement-level triggers with transition tables: one grouped INSERT per
  statement (a 50,000-row COPY or a bulk UPDATE adds a few rows, not one per deal); an
  UPDATE that changes none of pipeline/stage/currency/amount/deleted_at adds nothing.
  TRUNCATE of sales_deal empties the table.
- SQLite: row-level triggers (it has no statement-level ones).
- Both: deleting a pipeline deletes its rows, and deleting a deal whose pipeline is
  already gone adds none, so a flush (test teardown, `manage.py flush`: DELETE of every
  table in any order, ids restarting) leaves the table empty.
- Other databases: no triggers; the board then keeps aggregating (selectors check that
  the triggers exist before trusting the table).

The table is filled from the deals once here. On SQLite a later migration that rebuilds
sales_deal ("remake table") drops its triggers: the board notices and aggregates again
until services.board_totals_repair() puts them back (and refills the table).
"""

from django.db import migrations, models

# (table, trigger) pairs: the board trusts sales_boardtotal only when all of them exist.
PG_TRIGGERS = (
    ("sales_deal", "board_totals_ins"),
    ("sales_deal", "board_totals_upd"),
    ("sales_deal", "board_totals_del"),
    ("sales_deal", "board_totals_trunc"),
    ("sales_pipeline", "board_totals_pipeline_del"),
)
SQLITE_TRIGGERS = (
    ("sales_deal", "sales_deal_board_totals_ai"),
    ("sales_deal", "sales_deal_board_totals_ad"),
    ("sales_deal", "sales_deal_board_totals_au"),
    ("sales_pipeline", "sales_pipeline_board_totals_ad"),
)

FILL = """
DELETE FROM sales_boardtotal;
INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total)
SELECT pipeline_id, stage_id, currency, COUNT(*), SUM(amount) FROM sales_deal
WHERE deleted_at IS NULL GROUP BY pipeline_id, stage_id, currency;
"""

PG_CREATE = """
CREATE OR REPLACE FUNCTION sales_board_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total)
        SELECT pipeline_id, stage_id, currency, COUNT(*), SUM(amount) FROM board_new
        WHERE deleted_at IS NULL GROUP BY pipeline_id, stage_id, currency;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total)
        SELECT pipeline_id, stage_id, currency, -COUNT(*), -SUM(amount) FROM board_old
        WHERE deleted_at IS NULL AND pipeline_id IN (SELECT id FROM sales_pipeline)
        GROUP BY pipeline_id, stage_id, currency;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total)
        SELECT pipeline_id, stage_id, currency, SUM(n), SUM(total) FROM (
            SELECT pipeline_id, stage_id, currency, -1 AS n, -amount AS total FROM board_old
            WHERE deleted_at IS NULL
            UNION ALL
            SELECT pipeline_id, stage_id, currency, 1, amount FROM board_new
            WHERE deleted_at IS NULL
        ) AS d GROUP BY pipeline_id, stage_id, currency
        HAVING SUM(n) <> 0 OR SUM(total) <> 0;
    ELSE
        DELETE FROM sales_boardtotal;
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION sales_board_totals_pipeline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_boardtotal WHERE pipeline_id = OLD.id;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS board_totals_pipeline_del ON sales_pipeline;
DROP TRIGGER IF EXISTS board_totals_ins ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_upd ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_del ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_trunc ON sales_deal;
CREATE TRIGGER board_totals_ins AFTER INSERT ON sales_deal
    REFERENCING NEW TABLE AS board_new
    FOR EACH STATEMENT EXECUTE FUNCTION sales_board_totals();
CREATE TRIGGER board_totals_upd AFTER UPDATE ON sales_deal
    REFERENCING OLD TABLE AS board_old NEW TABLE AS board_new
    FOR EACH STATEMENT EXECUTE FUNCTION sales_board_totals();
CREATE TRIGGER board_totals_del AFTER DELETE ON sales_deal
    REFERENCING OLD TABLE AS board_old
    FOR EACH STATEMENT EXECUTE FUNCTION sales_board_totals();
CREATE TRIGGER board_totals_trunc AFTER TRUNCATE ON sales_deal
    FOR EACH STATEMENT EXECUTE FUNCTION sales_board_totals();
CREATE TRIGGER board_totals_pipeline_del AFTER DELETE ON sales_pipeline
    FOR EACH ROW EXECUTE FUNCTION sales_board_totals_pipeline();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS board_totals_pipeline_del ON sales_pipeline;
DROP FUNCTION IF EXISTS sales_board_totals_pipeline();
DROP TRIGGER IF EXISTS board_totals_ins ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_upd ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_del ON sales_deal;
DROP TRIGGER IF EXISTS board_totals_trunc ON sales_deal;
DROP FUNCTION IF EXISTS sales_board_totals();
"""

_INSERT = "INSERT INTO sales_boardtotal (pipeline_id, stage_id, currency, n, total)"
SQLITE_CREATE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for _table, name in SQLITE_TRIGGERS),
    "CREATE TRIGGER sales_deal_board_totals_ai AFTER INSERT ON sales_deal "
    "WHEN new.deleted_at IS NULL BEGIN "
    f"{_INSERT} VALUES (new.pipeline_id, new.stage_id, new.currency, 1, new.amount); END",
    "CREATE TRIGGER sales_deal_board_totals_ad AFTER DELETE ON sales_deal "
    "WHEN old.deleted_at IS NULL "
    "AND EXISTS (SELECT 1 FROM sales_pipeline WHERE id = old.pipeline_id) BEGIN "
    f"{_INSERT} VALUES (old.pipeline_id, old.stage_id, old.currency, -1, -old.amount); END",
    "CREATE TRIGGER sales_deal_board_totals_au "
    "AFTER UPDATE OF pipeline_id, stage_id, currency, amount, deleted_at ON sales_deal "
    "WHEN old.pipeline_id IS NOT new.pipeline_id OR old.stage_id IS NOT new.stage_id "
    "OR old.currency IS NOT new.currency OR old.amount IS NOT new.amount "
    "OR (old.deleted_at IS NULL) <> (new.deleted_at IS NULL) BEGIN "
    f"{_INSERT} SELECT old.pipeline_id, old.stage_id, old.currency, -1, -old.amount "
    "WHERE old.deleted_at IS NULL; "
    f"{_INSERT} SELECT new.pipeline_id, new.stage_id, new.currency, 1, new.amount "
    "WHERE new.deleted_at IS NULL; END",
    "CREATE TRIGGER sales_pipeline_board_totals_ad AFTER DELETE ON sales_pipeline BEGIN "
    "DELETE FROM sales_boardtotal WHERE pipeline_id = old.id; END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for _table, name in SQLITE_TRIGGERS]


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip()]


def fill(execute, vendor: str) -> None:
    """Refill the table from the live deals. In a transaction; on PostgreSQL writes to
    sales_deal wait until it ends (SQLite has one writer anyway)."""
    if vendor == "postgresql":
        execute("LOCK TABLE sales_deal IN SHARE MODE")
    for sql in _statements(FILL):
        execute(sql)


def create(execute, vendor: str) -> bool:
    """Create the triggers and fill the table from the deals, in one transaction.
    `execute(sql)` runs one statement. False: no triggers on this database."""
    if vendor == "postgresql":
        execute(PG_CREATE)
    elif vendor == "sqlite":
        for sql in SQLITE_CREATE:
            execute(sql)
    else:
        return False
    fill(execute, vendor)
    return True


def create_triggers(apps, schema_editor):
    create(lambda sql: schema_editor.execute(sql, params=None), schema_editor.connection.vendor)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_deal_board_and_search_indexes")]

    operations = [
        migrations.CreateModel(
            name="BoardTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pipeline_id", models.BigIntegerField()),
                ("stage_id", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("n", models.BigIntegerField()),
                ("total", models.DecimalField(decimal_places=2, max_digits=24)),
            ],
            options={
                "indexes": [models.Index(fields=["pipeline_id"], name="boardtotal_pipeline_idx")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
