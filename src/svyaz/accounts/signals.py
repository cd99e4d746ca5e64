"""Signal receivers of accounts: the two-factor state is decided once, at login."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from svyaz.accounts.models import User


@receiver(user_logged_in, dispatch_uid="svyaz_two_factor_state")
def remember_two_factor_state(sender, request, user, **kwargs):
    from svyaz.accounts.services import TWO_FACTOR_SESSION_KEY, two_factor_state

    session = getattr(request, "session", None)
    if session is not None:
        session[TWO_FACTOR_SESSION_KEY] = two_factor_state(user=user)


def _forget_access(sender, instance, action, **kwargs):
    """A user's roles changed: their cached grants are stale."""
    if action in {"post_add", "post_remove", "post_clear"}:
        from svyaz.core.scoping import forget

        if isinstance(instance, User):
            forget(instance)


m2m_changed.connect(_forget_access, sender=User.roles.through, dispatch_uid="svyaz_forget_access")
