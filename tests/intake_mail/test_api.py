"""API: mailboxes (staff, passwords write-only) and messages (read-only, scoped)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from svyaz.contacts.services import contact_create
from svyaz.intake.models import EmailMessage, Mailbox
from svyaz.sales.services import lead_create

pytestmark = pytest.mark.django_db

MAILBOXES = "/api/v1/mailboxes/"
MESSAGES = "/api/v1/mail-messages/"


@pytest.fixture
def admin_api(admin):
    c = APIClient()
    c.force_authenticate(admin)
    return c


@pytest.fixture
def box(db):
    return Mailbox.objects.create(
        name="Sales", from_address="sales@svyaz.test", smtp_host="smtp.svyaz.test",
        smtp_password="hidden-smtp",
    )  # fmt: skip


def store(box, n, *, contact=None, lead=None, thread="<t@x>"):
    from django.utils import timezone

    return EmailMessage.objects.create(
        mailbox=box,
        message_id=f"<{n}@x>",
        thread_key=thread,
        direction="in",
        from_address="ivan@client.ru",
        subject=f"Message {n}",
        text_body="body",
        sent_at=timezone.now(),
        contact=contact,
        lead=lead,
    )


def test_mailboxes_are_for_administrators_only(api_client):
    assert api_client.get(MAILBOXES).status_code == 403
    assert api_client.post(MAILBOXES, {"name": "x"}).status_code == 403


def test_an_administrator_creates_a_mailbox_and_never_reads_a_password(admin_api):
    response = admin_api.post(
        MAILBOXES,
        {
            "name": "Support",
            "from_address": "support@svyaz.test",
            "imap_host": "imap.svyaz.test",
            "imap_username": "support",
            "imap_password": "s3cret",
            "smtp_host": "smtp.svyaz.test",
            "smtp_starttls": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert "imap_password" not in data and data["has_imap_password"] is True
    pk = data["id"]
    patched = admin_api.patch(f"{MAILBOXES}{pk}/", {"name": "Support 2"}, format="json")
    assert patched.status_code == 200
    mailbox = Mailbox.objects.get(pk=pk)
    assert (mailbox.name, mailbox.imap_password) == ("Support 2", "s3cret")
    assert "s3cret" not in admin_api.get(MAILBOXES).content.decode()


def test_a_wrong_mailbox_is_a_400_with_field_errors(admin_api):
    response = admin_api.post(
        MAILBOXES,
        {"name": "X", "from_address": "sales@svyaz.test", "smtp_ssl": True, "smtp_starttls": True},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) >= {"imap_host", "smtp_starttls"}
    assert not Mailbox.objects.exists()


def test_messages_are_scoped_through_their_contact_or_lead(
    box, api_client, manager, teammate, outsider
):
    mine = contact_create(actor=manager, first_name="Mine", emails=["mine@client.ru"])
    theirs = contact_create(actor=outsider, first_name="Theirs")
    my_lead = lead_create(actor=manager, title="Lead", email="lead@client.ru")
    visible = [store(box, 1, contact=mine), store(box, 2, lead=my_lead)]
    hidden = [store(box, 3, contact=theirs), store(box, 4)]
    ids = {row["id"] for row in api_client.get(MESSAGES).data["results"]}
    assert ids == {m.pk for m in visible}
    assert api_client.get(f"{MESSAGES}{visible[0].pk}/").data["text_body"] == "body"
    for message in hidden:
        assert api_client.get(f"{MESSAGES}{message.pk}/").status_code == 404
    filtered = api_client.get(MESSAGES, {"contact": mine.pk}).data["results"]
    assert [row["id"] for row in filtered] == [visible[0].pk]
    assert "text_body" not in filtered[0]  # bodies only in the detail
    assert api_client.post(MESSAGES, {}).status_code == 405


def test_the_message_list_costs_the_same_queries_for_one_row_and_for_many(
    box, api_client, manager, django_assert_num_queries
):
    contact = contact_create(actor=manager, first_name="Many")
    store(box, 1, contact=contact)
    api_client.get(MESSAGES)  # warm caches (roles, content types)
    with django_assert_num_queries(4) as one:
        assert len(api_client.get(MESSAGES).data["results"]) == 1
    for n in range(2, 12):
        store(box, n, contact=contact)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api_client.get(MESSAGES).data["results"]) == 11


def test_a_mailbox_is_switched_off_not_deleted(admin_api, box):
    assert admin_api.delete(f"{MAILBOXES}{box.pk}/").status_code == 405
    response = admin_api.patch(f"{MAILBOXES}{box.pk}/", {"active": False}, format="json")
    assert response.status_code == 200 and response.data["active"] is False
    assert response.data["has_smtp_password"] is True
