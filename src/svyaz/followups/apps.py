from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "svyaz.followups"
    label = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # Registers the task list spec (bulk actions, saved views).
        from svyaz.followups import lists  # noqa: F401
