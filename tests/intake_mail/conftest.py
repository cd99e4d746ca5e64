from __future__ import annotations

import logging

import pytest
from django.core.cache import cache

from svyaz.contacts.services import contact_create
from svyaz.intake.models import Mailbox, ResponseSla, RoutingGroup, RoutingMember
from tests.intake_mail.servers import DOVECOT, dovecot_start, dovecot_stop, smtp_running


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot IMAP server for the whole test session (each test gets its own
    account, so its INBOX starts empty)."""
    if DOVECOT is None:
        pytest.skip("the dovecot binary is not installed (apt-get install dovecot-imapd)")
    server = dovecot_start()
    yield server
    dovecot_stop(server)


@pytest.fixture
def imap_account(dovecot):
    return dovecot.add_user()


@pytest.fixture
def smtp():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-line chatter
    with smtp_running(refuse={"nobody@client.ru"}) as server:
        yield server


@pytest.fixture
def group(manager, teammate):
    g = RoutingGroup.objects.create(name="Mail desk")
    RoutingMember.objects.create(group=g, user=manager, position=0)
    RoutingMember.objects.create(group=g, user=teammate, position=1)
    ResponseSla.objects.create(channel="email", minutes=30)
    return g


@pytest.fixture
def mailbox(dovecot, imap_account, smtp, group):
    username, password = imap_account
    return Mailbox.objects.create(
        name="Sales",
        from_address="sales@svyaz.test",
        from_name="Svyaz Sales",
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_ssl=False,
        imap_username=username,
        imap_password=password,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        routing_group=group,
    )


@pytest.fixture
def deliver(dovecot, imap_account):
    """deliver(raw, ...) puts messages into the test mailbox's INBOX."""

    def put(*raws: bytes) -> None:
        dovecot.append(*imap_account, *raws)

    return put


@pytest.fixture
def client_contact(teammate):
    return contact_create(
        actor=teammate,
        first_name="Ivan",
        last_name="Sidorov",
        emails=["ivan@client.ru"],
    )
