from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "svyaz.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from svyaz.audit import capture, jobs

        capture.connect_all()
        jobs.connect()
