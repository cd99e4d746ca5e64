from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "svyaz.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from svyaz.core import scheduler

        scheduler.start_if_embedded()
