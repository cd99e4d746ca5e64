"""Mail settings (staff), the contact card block, threads, attachments, quarantine."""

from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.intake.mail.imap import mailbox_poll
from svyaz.intake.models import EmailMessage, EmailTemplate, Mailbox, MailQuarantine
from tests.intake_mail import mails

pytestmark = pytest.mark.django_db

SETTINGS = reverse("intake:mail_settings")


def mailbox_post(**overrides):
    data = {
        "name": "Support",
        "from_address": "Support@Svyaz.test",
        "from_name": "Support",
        "imap_host": "imap.svyaz.test",
        "imap_port": 993,
        "imap_ssl": "on",
        "imap_username": "support",
        "imap_password": "imap-secret",
        "folder": "INBOX",
        "smtp_host": "smtp.svyaz.test",
        "smtp_port": 587,
        "smtp_starttls": "on",
        "smtp_username": "support",
        "smtp_password": "smtp-secret",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_settings_pages_need_the_settings_grant(manager_client):
    for url in (
        SETTINGS,
        reverse("intake:mailbox_create"),
        reverse("intake:email_template_create"),
        reverse("intake:mail_quarantine"),
    ):
        assert manager_client.get(url).status_code == 403, url  # the settings grant


def test_an_admin_creates_a_mailbox_and_the_passwords_are_never_shown_back(admin, client):
    client.force_login(admin)
    response = client.post(reverse("intake:mailbox_create"), mailbox_post())
    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert mailbox.from_address == "support@svyaz.test"
    assert (mailbox.imap_password, mailbox.smtp_password) == ("imap-secret", "smtp-secret")
    page = client.get(reverse("intake:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "imap-secret" not in page and "smtp-secret" not in page
    assert "leave empty to keep it" in page
    # Saved again with empty password fields: the stored ones stay.
    client.post(
        reverse("intake:mailbox_edit", args=[mailbox.pk]),
        mailbox_post(imap_password="", smtp_password="", name="Support desk"),
    )
    mailbox.refresh_from_db()
    assert mailbox.name == "Support desk"
    assert (mailbox.imap_password, mailbox.smtp_password) == ("imap-secret", "smtp-secret")
    listing = client.get(SETTINGS).content.decode()
    assert "Support desk" in listing and "imap-secret" not in listing


def test_a_wrong_mailbox_gets_field_errors_and_nothing_is_saved(admin, client):
    client.force_login(admin)
    url = reverse("intake:mailbox_create")
    response = client.post(url, mailbox_post(from_address="nope"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"from_address"}
    response = client.post(url, mailbox_post(smtp_ssl="on", imap_username=""))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"smtp_starttls", "imap_username"}
    assert not Mailbox.objects.exists()


def test_a_template_with_an_unknown_merge_field_is_refused(admin, client):
    client.force_login(admin)
    url = reverse("intake:email_template_create")
    bad = client.post(url, {"name": "T", "subject": "Hi", "body": "{{ contact.secret }}"})
    assert bad.status_code == 200 and "Unknown merge field" in bad.content.decode()
    assert not EmailTemplate.objects.exists()
    good = client.post(
        url, {"name": "T", "subject": "Hi", "body": "{{ contact.first_name }}", "active": "on"}
    )
    assert good.status_code == 302
    assert EmailTemplate.objects.get().body == "{{ contact.first_name }}"


def test_check_now_polls_the_real_server(admin, client, mailbox, deliver, client_contact):
    deliver(mails.plain())
    client.force_login(admin)
    response = client.post(reverse("intake:mailbox_poll", args=[mailbox.pk]), follow=True)
    assert "1 new, 0 quarantined" in response.content.decode()
    assert EmailMessage.objects.count() == 1


def test_the_contact_card_has_the_write_button_and_the_threads(
    mailbox, deliver, client_contact, teammate, client
):
    deliver(mails.plain(subject="Первое письмо"))
    mailbox_poll(mailbox)
    client.force_login(teammate)
    card = client.get(reverse("contacts:contact_detail", args=[client_contact.pk]))
    html = card.content.decode()
    assert f"{reverse('intake:mail_compose')}?contact={client_contact.pk}" in html
    assert reverse("intake:mail_contact_card", args=[client_contact.pk]) in html
    block = client.get(
        reverse("intake:mail_contact_card", args=[client_contact.pk]),
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Первое письмо" in block
    assert reverse("intake:mail_thread", args=[EmailMessage.objects.get().pk]) in block


def test_an_outsider_gets_404_for_threads_blocks_and_attachments(
    mailbox, deliver, client_contact, outsider, client
):
    deliver(mails.with_attachments())
    mailbox_poll(mailbox)
    message = EmailMessage.objects.get()
    attachment = message.attachments.first()
    client.force_login(outsider)
    for url in (
        reverse("intake:mail_thread", args=[message.pk]),
        reverse("intake:mail_contact_card", args=[client_contact.pk]),
        reverse("intake:mail_attachment", args=[attachment.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_the_thread_page_shows_every_message_and_attachments_download(
    mailbox, deliver, client_contact, teammate, client
):
    deliver(
        mails.with_attachments(message_id="<t1@client.ru>"),
        mails.plain(subject="Re: Contract", extra="In-Reply-To: <t1@client.ru>\r\n"),
    )
    mailbox_poll(mailbox)
    client.force_login(teammate)
    last = EmailMessage.objects.order_by("imap_uid").last()
    html = client.get(reverse("intake:mail_thread", args=[last.pk])).content.decode()
    assert html.count('class="card mb-3 mail-message') == 2
    assert "договор.pdf" in html
    pdf = EmailMessage.objects.get(message_id="<t1@client.ru>").attachments.get(
        filename="договор.pdf"
    )
    response = client.get(reverse("intake:mail_attachment", args=[pdf.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 fake pdf bytes"


def test_the_quarantine_lists_downloads_retries_and_dismisses(
    mailbox, deliver, admin, client, client_contact
):
    deliver(mails.NO_SENDER, mails.GARBAGE)
    mailbox_poll(mailbox)
    client.force_login(admin)
    page = client.get(reverse("intake:mail_quarantine")).content.decode()
    assert "who am I" in page and "no valid sender address" in page
    first, second = MailQuarantine.objects.order_by("imap_uid")
    raw = client.get(reverse("intake:mail_quarantine_raw", args=[first.pk]))
    assert b"".join(raw.streaming_content) == mails.NO_SENDER
    retry = client.post(
        reverse("intake:mail_quarantine_action", args=[first.pk, "retry"]), follow=True
    )
    assert "Still cannot import it" in retry.content.decode()
    assert MailQuarantine.objects.count() == 2  # the failed retry added nothing
    client.post(reverse("intake:mail_quarantine_action", args=[second.pk, "dismiss"]))
    second.refresh_from_db()
    assert second.resolved_at is not None
    open_page = client.get(reverse("intake:mail_quarantine")).content.decode()
    assert open_page.count('data-reason="malformed"') == 1


def test_a_quarantined_message_imports_after_a_fix(mailbox, deliver, admin, client, manager):
    from svyaz.intake.models import RoutingGroup

    deliver(mails.plain(sender="someone@new.ru"))
    # No routing rule and no administrator to fall back to: the lead cannot be made.
    RoutingGroup.objects.all().delete()
    admin.is_superuser = False
    admin.save()
    mailbox.refresh_from_db()
    mailbox_poll(mailbox)
    entry = MailQuarantine.objects.get()
    assert entry.reason == "failed" and "routing" in entry.error.lower()
    assert not EmailMessage.objects.exists()
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    client.post(reverse("intake:mail_quarantine_action", args=[entry.pk, "retry"]))
    entry.refresh_from_db()
    assert entry.resolved_at is not None
    assert entry.message.lead.email == "someone@new.ru"
