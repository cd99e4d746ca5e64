from django.conf import settings


def svyaz(request):
    ctx = {"BASE_CURRENCY": settings.SVYAZ_BASE_CURRENCY}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from svyaz.followups.selectors import notification_unread_count

        ctx["unread_notifications"] = notification_unread_count(user=user)
    return ctx
