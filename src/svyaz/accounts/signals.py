"""Signal receivers of accounts: the two-factor state is decided once, at login."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="svyaz_two_factor_state")
def remember_two_factor_state(sender, request, user, **kwargs):
    from svyaz.accounts.services import TWO_FACTOR_SESSION_KEY, two_factor_state

    session = getattr(request, "session", None)
    if session is not None:
        session[TWO_FACTOR_SESSION_KEY] = two_factor_state(user=user)
