from __future__ import annotations

from svyaz.followups.models import Notification


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
