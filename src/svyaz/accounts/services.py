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
