from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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


# --- two-factor authentication (TOTP) ------------------------------------------------

TWO_FACTOR_SESSION_KEY = "svyaz_2fa"


class TwoFactorState:
    OK = "ok"  # nothing more to do (no device, or the code was entered)
    VERIFY = "verify"  # has a confirmed device: must enter a code
    ENROL = "enrol"  # must use 2FA but has no device yet: must set one up


def user_has_2fa(*, user: User) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_state(*, user: User) -> str:
    """What a freshly signed-in user must still do before Svyaz opens."""
    if user_has_2fa(user=user):
        return TwoFactorState.VERIFY
    if user.must_use_2fa():
        return TwoFactorState.ENROL
    return TwoFactorState.OK


@transaction.atomic
def two_factor_device_for_setup(*, user: User):
    """The user's unconfirmed TOTP device (a new secret is made once and kept until it is
    confirmed, so reloading the page shows the same QR code)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    return device


def _clean_token(token: str) -> str:
    return "".join((token or "").split())


@transaction.atomic
def two_factor_confirm(*, user: User, token: str):
    """Confirm the device being set up with a code from the app; other devices go."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    token = _clean_token(token)
    if device is None or not token.isdigit() or not device.verify_token(token):
        raise ValidationError({"token": [_("The code is wrong or expired. Try the next one.")]})
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save()
    return device


def two_factor_check(*, user: User, token: str):
    """The confirmed device that accepts `token`, else a ValidationError."""
    from django_otp import match_token

    token = _clean_token(token)
    device = match_token(user, token) if token.isdigit() else None
    if device is None:
        raise ValidationError({"token": [_("The code is wrong or expired. Try the next one.")]})
    return device


@transaction.atomic
def two_factor_disable(*, user: User, token: str) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if user.must_use_2fa():
        raise ValidationError(
            {"token": [_("Two-factor authentication is required for your account.")]}
        )
    two_factor_check(user=user, token=token)
    TOTPDevice.objects.filter(user=user).delete()


# --- sessions ---------------------------------------------------------------------------


def user_sessions_end_others(*, user: User, keep_session_key: str | None) -> int:
    """Sign `user` out everywhere except the session `keep_session_key`; return how many
    sessions ended. Sessions live in the database (Django's default session engine)."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            session.delete()
            ended += 1
    return ended
