from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "svyaz.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        # Registers the activity list spec (bulk actions, saved views).
        from svyaz.activities import lists  # noqa: F401
