from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "svyaz.contacts"
    label = "contacts"
    verbose_name = _("Clients")

    def ready(self) -> None:
        # Registers the contact and company list specs (bulk actions, saved views).
        from svyaz.contacts import lists  # noqa: F401
