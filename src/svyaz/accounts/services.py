from __future__ import annotations

from django.db import transaction

from svyaz.accounts.models import User


@transaction.atomic
def user_update_preferences(*, user: User, data: dict) -> User:
    allowed = {"first_name", "last_name", "email", "phone", "language", "timezone"}
    for key, value in data.items():
        if key in allowed:
            setattr(user, key, value or "")
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_api_token_rotate(*, user: User) -> str:
    """A new personal API token for `user`; the old one stops working at once."""
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user).key


@transaction.atomic
def user_api_token_revoke(*, user: User) -> bool:
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
