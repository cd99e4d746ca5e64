from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "svyaz.contacts"
    label = "contacts"
    verbose_name = _("Clients")

    def ready(self) -> None:
        # Registers the contact and company list specs (bulk actions, saved views).
        from django.db.models.signals import post_migrate

        from svyaz.contacts import lists  # noqa: F401
        from svyaz.contacts.fts import repair_search_tables

        # SQLite: a later migration that rebuilt a searched table dropped its triggers.
        post_migrate.connect(repair_search_tables, sender=self, dispatch_uid="svyaz.contacts.fts")
