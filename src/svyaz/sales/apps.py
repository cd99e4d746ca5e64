from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "svyaz.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Registers the lead, deal, order and product list specs (bulk actions, saved views).
        from svyaz.sales import lists  # noqa: F401
