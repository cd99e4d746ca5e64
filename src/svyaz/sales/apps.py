from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def repair_board_totals(using: str = "default", **_kwargs) -> bool:
    """After `migrate` on SQLite: a migration that rebuilt sales_deal ("remake table")
    dropped the board-total triggers of sales.0004; put them back and refill the table
    (the board aggregates the deals until then, so its figures stay exact). True when it
    repaired."""
    from django.db import connections

    from svyaz.sales import selectors, services

    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = 'sales'")
        if "0004_board_totals" not in {row[0] for row in cursor.fetchall()}:
            return False
    if selectors._board_totals_ready(connection):
        return False
    return services.board_totals_repair(using=using)


class SalesConfig(AppConfig):
    name = "svyaz.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Registers the lead, deal, order and product list specs (bulk actions, saved views).
        from django.db.models.signals import post_migrate

        from svyaz.sales import lists  # noqa: F401

        post_migrate.connect(repair_board_totals, sender=self, dispatch_uid="svyaz.sales.board")
