from django.conf import settings


def svyaz(request):
    ctx = {"BASE_CURRENCY": settings.SVYAZ_BASE_CURRENCY}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from svyaz.followups.selectors import notification_unread_count

        ctx["unread_notifications"] = notification_unread_count(user=user)
    # Field rules of the user's roles: {% if "amount" not in hidden.deals %} (lazy).
    from svyaz.core.field_rules import template_context

    ctx.update(template_context(user))
    return ctx
