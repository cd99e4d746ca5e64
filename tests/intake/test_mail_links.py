"""Mail on the client's pages: the timeline's email entries link to their thread, and the
lead card has "Write email" when the lead can be written to."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from svyaz.contacts.services import contact_create
from svyaz.core.models import TimelineEntry
from svyaz.intake.mail import sender
from svyaz.intake.mail.importer import message_import
from svyaz.intake.models import EmailMessage, Mailbox
from svyaz.sales.services import lead_create
from tests.factories import UserFactory
from tests.intake_mail import mails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def box(db):
    return Mailbox.objects.create(
        name="Sales", from_address="sales@svyaz.test", smtp_host="smtp.svyaz.test"
    )


@pytest.fixture
def ivan(manager):
    return contact_create(actor=manager, first_name="Ivan", emails=["ivan@client.ru"])


def timeline(client, contact) -> str:
    response = client.get(reverse("core:timeline") + f"?contact={contact.pk}")
    assert response.status_code == 200
    return response.content.decode()


def test_an_incoming_email_on_the_timeline_links_to_its_thread(manager_client, box, ivan):
    result = message_import(mailbox=box, raw=mails.plain(subject="Order 15"))
    message = result.message
    assert message.contact == ivan and message.activity_id
    entry = TimelineEntry.objects.get(object_type="activity", object_id=message.activity_id)
    assert entry.data["email"] == message.pk and entry.data["kind"] == "email"  # kept
    body = timeline(manager_client, ivan)
    link = reverse("intake:mail_thread", args=[message.pk])
    assert f'href="{link}"' in body and "timeline-mail-link" in body
    assert manager_client.get(link).status_code == 200


def test_a_sent_email_links_to_its_thread(manager_client, manager, box, ivan, monkeypatch):
    monkeypatch.setattr(sender, "smtp_deliver", lambda mailbox, message, recipients: None)
    sent = sender.email_send(
        actor=manager, mailbox=box, to="ivan@client.ru", subject="Offer", body="Hi", contact=ivan
    )
    assert sent.activity_id
    link = reverse("intake:mail_thread", args=[sent.pk])
    assert f'href="{link}"' in timeline(manager_client, ivan)


def test_other_entries_have_no_thread_link(manager_client, manager, ivan):
    from svyaz.activities.services import activity_log

    activity_log(
        actor=manager, kind="email", direction="out", subject="Logged by hand", contact=ivan
    )
    body = timeline(manager_client, ivan)
    assert "Logged by hand" in body and "timeline-mail-link" not in body


def test_the_migration_links_emails_imported_before(box, ivan):
    message = message_import(mailbox=box, raw=mails.plain(subject="Old")).message
    entry = TimelineEntry.objects.get(object_type="activity", object_id=message.activity_id)
    entry.data = {k: v for k, v in entry.data.items() if k != "email"}  # as before the change
    entry.save()
    migration = importlib.import_module("svyaz.intake.migrations.0005_email_timeline_links")
    migration.link(apps, None)
    entry.refresh_from_db()
    assert entry.data["email"] == message.pk and entry.data["kind"] == "email"


# --- the lead card's "Write email" ---------------------------------------------------------


def lead_card(client, lead) -> str:
    response = client.get(reverse("sales:lead_detail", args=[lead.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_lead_card_offers_to_write_to_the_leads_address(manager_client, manager, box):
    lead = lead_create(actor=manager, title="Quote", email="olga@client.ru", owner=manager)
    body = lead_card(manager_client, lead)
    compose = reverse("intake:mail_compose") + f"?lead={lead.pk}"
    assert 'id="lead-mail-write"' in body and f'href="{compose}"' in body
    page = manager_client.get(compose)
    assert page.status_code == 200 and 'value="olga@client.ru"' in page.content.decode()


def test_no_button_without_an_address(manager_client, manager, box):
    lead = lead_create(actor=manager, title="Phone only", phone="+79161234567", owner=manager)
    assert 'id="lead-mail-write"' not in lead_card(manager_client, lead)


@pytest.mark.parametrize("mailbox", ["none", "inactive", "no_smtp"])
def test_no_button_without_a_mailbox_to_send_from(manager_client, manager, mailbox):
    if mailbox == "inactive":
        Mailbox.objects.create(
            name="Off", from_address="off@svyaz.test", smtp_host="smtp.svyaz.test", active=False
        )
    elif mailbox == "no_smtp":
        Mailbox.objects.create(name="Read only", from_address="in@svyaz.test", imap_host="imap")
    lead = lead_create(actor=manager, title="Quote", email="olga@client.ru", owner=manager)
    assert 'id="lead-mail-write"' not in lead_card(manager_client, lead)


def test_no_button_for_a_user_who_cannot_edit_the_lead(client, manager, head, box):
    lead = lead_create(actor=manager, title="Quote", email="olga@client.ru", owner=manager)
    viewer = UserFactory(department=manager.department, roles=["manager"])
    client.force_login(viewer)
    assert client.get(reverse("sales:lead_detail", args=[lead.pk])).status_code == 404
    # A user who sees the lead but may not edit it: no button (nor "Edit").
    from svyaz.accounts.models import Role

    role = Role.objects.create(
        code="lead_viewer", name="Lead viewer", grants={"leads": {"view": "all"}}
    )
    viewer.roles.set([role])
    client.force_login(viewer)
    body = lead_card(client, lead)
    assert 'id="lead-edit"' not in body and 'id="lead-mail-write"' not in body


def test_the_sent_from_lead_email_is_not_duplicated(manager, box, monkeypatch):
    """Writing from the lead card stores the mail on the lead (no contact, no timeline)."""
    monkeypatch.setattr(sender, "smtp_deliver", lambda mailbox, message, recipients: None)
    lead = lead_create(actor=manager, title="Quote", email="olga@client.ru", owner=manager)
    sent = sender.email_send(
        actor=manager, mailbox=box, to="olga@client.ru", subject="Offer", body="Hi", lead=lead
    )
    assert EmailMessage.objects.get() == sent and sent.lead == lead and sent.activity is None
