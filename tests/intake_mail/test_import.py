"""Incoming mail through a real Dovecot: parsing, matching, threading, quarantine."""

from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.core.models import TimelineEntry
from svyaz.followups.models import Followup
from svyaz.intake.mail.imap import MailboxError, mail_poll_all, mailbox_poll
from svyaz.intake.models import EmailAttachment, EmailMessage, Mailbox, MailQuarantine
from svyaz.sales.models import Lead
from tests.intake_mail import mails

pytestmark = pytest.mark.django_db


def test_mail_from_a_known_address_lands_on_the_contacts_timeline(
    mailbox, deliver, client_contact, teammate
):
    deliver(mails.plain(subject="Order 15", body="Where is my order?"))
    result = mailbox_poll(mailbox)
    assert (result.imported, result.quarantined) == (1, 0)
    message = EmailMessage.objects.get()
    assert message.contact == client_contact
    assert message.direction == "in"
    assert message.imap_uid == 1
    activity = message.activity
    assert (activity.kind, activity.direction, activity.subject) == ("email", "in", "Order 15")
    assert activity.owner == teammate  # the client's manager
    entry = TimelineEntry.objects.get(contact=client_contact, object_type="activity")
    assert entry.title == "Incoming email: Order 15"
    assert "Where is my order?" in entry.body
    assert not Lead.objects.exists()
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 1 and mailbox.uidvalidity and mailbox.last_error == ""


def test_mail_from_an_unknown_sender_becomes_a_routed_lead_with_an_sla(mailbox, deliver, manager):
    deliver(mails.koi8r())
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    lead = message.lead
    assert lead.title == "Email: Счёт на оплату"
    assert (lead.email, lead.first_name, lead.last_name) == ("petr@koi8.ru", "Пётр", "Кузнецов")
    assert (lead.channel, lead.source) == ("email", "email")
    assert lead.owner == manager  # the routing rule's first member
    assert "Пришлите, пожалуйста, счёт" in lead.description
    intake = lead.intake
    assert intake.channel == "email"
    assert (intake.sla_due_at - intake.received_at).total_seconds() == 30 * 60
    assert intake.first_response.title == "Answer the email: Счёт на оплату"
    assert message.contact is None and message.activity is None


def test_a_second_mail_from_the_same_unknown_sender_joins_the_open_lead(mailbox, deliver):
    deliver(mails.koi8r(), mails.koi8r())
    mailbox_poll(mailbox)
    assert EmailMessage.objects.count() == 2
    assert Lead.objects.count() == 1
    assert set(EmailMessage.objects.values_list("lead", flat=True)) == {Lead.objects.get().pk}


def test_an_address_of_an_existing_contact_is_never_turned_into_a_second_one(
    mailbox, deliver, client_contact
):
    deliver(mails.plain(sender="IVAN@Client.Ru"))
    mailbox_poll(mailbox)
    assert EmailMessage.objects.get().contact == client_contact
    assert not Lead.objects.exists()


def test_raw_windows1251_headers_are_read_and_html_is_not_trusted(mailbox, deliver):
    deliver(mails.cp1251_raw_headers())
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    assert message.subject == "Вопрос о доставке"
    assert message.from_name == "Ольга Смирнова"
    assert message.text_body == "Здравствуйте! Интересует доставка в Казань."
    assert "<script>" in message.html_body  # stored as received …


def test_the_thread_page_never_renders_sender_html(mailbox, deliver, admin, client):
    deliver(mails.cp1251_raw_headers())
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    client.force_login(admin)
    html = client.get(reverse("intake:mail_thread", args=[message.pk])).content.decode()
    assert "<script>alert" not in html  # … and never shown as HTML
    assert "Здравствуйте! Интересует доставка в Казань." in html


def test_attachments_are_stored_and_an_oversized_one_is_left_on_the_server(
    mailbox, deliver, client_contact, settings
):
    settings.SVYAZ_MAIL_MAX_ATTACHMENT_BYTES = 1000
    deliver(mails.with_attachments(big=5000))
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    files = {a.filename: a for a in EmailAttachment.objects.filter(message=message)}
    assert set(files) == {"договор.pdf", "счёт.csv", "big.bin"}
    with files["договор.pdf"].file.open("rb") as fh:
        assert fh.read() == b"%PDF-1.4 fake pdf bytes"
    assert files["счёт.csv"].content_type == "text/csv"
    assert files["big.bin"].size == 5000 and not files["big.bin"].stored
    assert "big.bin" in message.activity.body


def test_malformed_and_oversized_mail_is_quarantined_and_the_rest_still_imported(
    mailbox, deliver, client_contact, settings
):
    settings.SVYAZ_MAIL_MAX_MESSAGE_BYTES = 20_000
    deliver(
        mails.plain(subject="before"),
        mails.NO_SENDER,
        mails.with_attachments(big=40_000),
        mails.GARBAGE,
        mails.plain(subject="after"),
    )
    result = mailbox_poll(mailbox)
    assert (result.imported, result.quarantined) == (2, 3)
    assert list(EmailMessage.objects.order_by("imap_uid").values_list("subject", flat=True)) == [
        "before",
        "after",
    ]
    entries = {e.imap_uid: e for e in MailQuarantine.objects.all()}
    assert {uid: e.reason for uid, e in entries.items()} == {
        2: "malformed",
        3: "oversized",
        4: "malformed",
    }
    assert entries[2].error == "no valid sender address"
    assert entries[2].subject == "who am I"
    with entries[2].raw.open("rb") as fh:
        assert fh.read() == mails.NO_SENDER.replace(b"\r\n", b"\r\n")
    # The oversized one: only its headers are kept; the message stays on the server.
    assert entries[3].size > 20_000 and entries[3].subject == "Contract"
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 5


def test_an_oversized_message_is_imported_from_the_server_on_retry(
    mailbox, deliver, client_contact, settings, admin
):
    from svyaz.intake.mail.services import quarantine_retry

    settings.SVYAZ_MAIL_MAX_MESSAGE_BYTES = 2_000
    deliver(mails.with_attachments(big=5_000))
    mailbox_poll(mailbox)
    entry = MailQuarantine.objects.get()
    message = quarantine_retry(actor=admin, entry=entry)
    assert message.contact == client_contact
    assert message.attachments.count() == 3
    entry.refresh_from_db()
    assert entry.resolved_at is not None and entry.message == message


def test_polling_again_imports_nothing_twice(mailbox, deliver, client_contact):
    deliver(mails.plain(), mails.koi8r())
    assert mailbox_poll(mailbox).imported == 2
    assert mailbox_poll(mailbox).imported == 0
    deliver(mails.plain())
    assert mailbox_poll(mailbox).imported == 1
    assert EmailMessage.objects.count() == 3
    assert Activity.objects.filter(kind="email").count() == 2


def test_a_renumbered_folder_is_read_again_without_duplicates(mailbox, deliver, client_contact):
    deliver(mails.plain(), mails.plain())
    mailbox_poll(mailbox)
    # The server says the folder's UIDs mean something else now (UIDVALIDITY changed).
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=1, last_uid=99)
    mailbox.refresh_from_db()
    result = mailbox_poll(mailbox)
    assert (result.imported, result.duplicates) == (0, 2)
    assert EmailMessage.objects.count() == 2
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 2


def test_a_reply_joins_the_thread_and_its_client(mailbox, deliver, client_contact):
    first = "<first@client.ru>"
    deliver(mails.plain(subject="Question", message_id=first))
    mailbox_poll(mailbox)
    # The client answers from another address: the thread, not the address, decides.
    deliver(
        mails.plain(
            sender="ivan.home@other.ru",
            subject="Re: Question",
            message_id="<second@other.ru>",
            extra=f"In-Reply-To: {first}\r\nReferences: {first}\r\n",
        ),
        mails.plain(
            sender="ivan.home@other.ru",
            subject="Re: Re: Question",
            message_id="<third@other.ru>",
            extra=f"References: {first} <second@other.ru>\r\n",
        ),
    )
    mailbox_poll(mailbox)
    messages = list(EmailMessage.objects.order_by("imap_uid"))
    assert [m.thread_key for m in messages] == [first, first, first]
    assert all(m.contact == client_contact for m in messages)
    assert messages[1].in_reply_to == first
    assert not Lead.objects.exists()


def test_a_reply_to_a_message_we_never_saw_threads_by_its_root(mailbox, deliver):
    root = "<root@elsewhere.ru>"
    deliver(
        mails.plain(sender="a@new.ru", extra=f"References: {root} <mid@elsewhere.ru>\r\n"),
        mails.plain(sender="a@new.ru", extra=f"References: {root}\r\n"),
    )
    mailbox_poll(mailbox)
    assert set(EmailMessage.objects.values_list("thread_key", flat=True)) == {root}


def test_an_auto_reply_from_an_unknown_address_makes_no_lead(mailbox, deliver):
    deliver(mails.plain(sender="robot@new.ru", extra="Auto-Submitted: auto-replied\r\n"))
    mailbox_poll(mailbox)
    assert EmailMessage.objects.count() == 1
    assert not Lead.objects.exists() and not Followup.objects.exists()


def test_a_copy_of_our_own_mail_is_outgoing_on_the_clients_timeline(
    mailbox, deliver, client_contact
):
    deliver(mails.plain(sender="Svyaz <sales@svyaz.test>", to="ivan@client.ru"))
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    assert (message.direction, message.contact) == ("out", client_contact)
    assert message.activity.direction == "out"


def test_a_wrong_password_is_noted_on_the_mailbox_and_nothing_is_imported(mailbox, deliver):
    deliver(mails.plain())
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_password="wrong")
    mailbox.refresh_from_db()
    with pytest.raises(MailboxError):
        mailbox_poll(mailbox)
    mailbox.refresh_from_db()
    assert "refused the login" in mailbox.last_error
    assert mailbox.last_polled_at is not None
    assert not EmailMessage.objects.exists()


def test_one_unreachable_mailbox_does_not_stop_the_others(mailbox, deliver, client_contact):
    from tests.intake_mail.servers import free_port

    broken = Mailbox.objects.create(
        name="Broken",
        from_address="x@svyaz.test",
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_ssl=False,
        imap_username="x",
    )
    deliver(mails.plain())
    results = mail_poll_all()
    assert results[mailbox.pk].imported == 1
    assert results[broken.pk].errors and "Cannot connect" in results[broken.pk].errors[0]


def test_the_periodic_job_is_scheduled_and_polls(mailbox, deliver, client_contact, settings):
    from svyaz.intake.tasks import mail_poll

    assert any(
        e["task"] == "svyaz.intake.tasks.mail_poll" for e in settings.CELERY_BEAT_SCHEDULE.values()
    )
    deliver(mails.plain())
    assert mail_poll.apply().get() == {mailbox.pk: 1}


def test_nul_bytes_and_huge_headers_never_block_the_mailbox(mailbox, client_contact):
    """Values PostgreSQL refuses (NUL) or that overflow columns are cleaned or cut."""
    from django.db import transaction

    from svyaz.intake.mail.importer import message_import

    raw = (
        b"From: Iv\x00an <ivan@client.ru>\r\nSubject: bad\x00subject " + b"x" * 2000 + b"\r\n"
        b"Message-ID: <" + b"y" * 900 + b"@client.ru>\r\n"
        b"References: <a\x00b@c>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbo\x00dy"
    )
    with transaction.atomic():
        result = message_import(mailbox=mailbox, raw=raw, uid=7, uidvalidity=1)
    assert result.status == "imported"
    message = EmailMessage.objects.get()
    assert message.subject.startswith("badsubject x") and len(message.subject) == 500
    assert message.text_body == "body" and message.from_name == "Ivan"
    assert len(message.message_id) < 255
    with transaction.atomic():
        assert message_import(mailbox=mailbox, raw=raw).status == "duplicate"
