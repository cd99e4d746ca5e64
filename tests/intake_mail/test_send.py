"""Writing from the client card through a real SMTP server (aiosmtpd), and replies back
through the real IMAP server."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from svyaz.activities.models import Activity
from svyaz.core.models import TimelineEntry
from svyaz.intake.mail.imap import mailbox_poll
from svyaz.intake.mail.merge import merge_render
from svyaz.intake.mail.sender import SendFailed, email_send
from svyaz.intake.models import EmailMessage, EmailTemplate
from tests.intake_mail import mails
from tests.intake_mail.servers import smtp_running

pytestmark = pytest.mark.django_db

URL = reverse("intake:mail_compose")


def received(smtp, index=-1):
    envelope = smtp.messages[index]
    return envelope, message_from_bytes(envelope.original_content, policy=policy.default)


@pytest.fixture
def template(db):
    return EmailTemplate.objects.create(
        name="Offer",
        subject="Предложение для {{ contact.company }}",
        body="Здравствуйте, {{ contact.first_name }}!\n\nС уважением, {{ user.full_name }}",
    )


def test_sending_from_the_card_reaches_the_smtp_server_with_merge_fields(
    mailbox, smtp, client_contact, teammate, client, template
):
    client.force_login(teammate)
    page = client.get(URL, {"contact": client_contact.pk, "template": template.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Здравствуйте, Ivan!" in html  # the template filled in for this client
    assert 'value="ivan@client.ru"' in html
    response = client.post(
        URL,
        {
            "contact": client_contact.pk,
            "mailbox": mailbox.pk,
            "to": "ivan@client.ru",
            "subject": "Письмо для {{ contact.full_name }}",
            "body": "Здравствуйте, {{ contact.first_name }}!\n\n{{ user.full_name }}",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:contact_detail", args=[client_contact.pk])
    envelope, message = received(smtp)
    assert envelope.mail_from == "sales@svyaz.test"
    assert envelope.rcpt_tos == ["ivan@client.ru"]
    assert message["Subject"] == "Письмо для Sidorov Ivan"
    assert message["From"] == "Svyaz Sales <sales@svyaz.test>"
    assert message["To"] == "ivan@client.ru"
    assert message["Message-ID"].endswith("@svyaz.test>")
    assert (
        message.get_content().replace("\r\n", "\n").strip() == "Здравствуйте, Ivan!\n\nBoris Ivanov"
    )
    stored = EmailMessage.objects.get()
    assert stored.message_id == message["Message-ID"]
    assert (stored.direction, stored.contact, stored.sent_by) == ("out", client_contact, teammate)
    assert stored.thread_key == stored.message_id
    activity = stored.activity
    assert (activity.kind, activity.direction, activity.owner) == ("email", "out", teammate)
    assert TimelineEntry.objects.filter(
        contact=client_contact, title="Outgoing email: Письмо для Sidorov Ivan"
    ).exists()


def test_the_clients_reply_threads_back_to_what_we_sent(
    mailbox, smtp, deliver, client_contact, teammate
):
    sent = email_send(
        actor=teammate,
        mailbox=mailbox,
        to="ivan@client.ru",
        subject="Offer",
        body="Here is the offer.",
        contact=client_contact,
    )
    deliver(
        mails.plain(
            subject="Re: Offer",
            extra=f"In-Reply-To: {sent.message_id}\r\nReferences: {sent.message_id}\r\n",
        )
    )
    mailbox_poll(mailbox)
    reply = EmailMessage.objects.get(direction="in")
    assert reply.thread_key == sent.thread_key == sent.message_id
    assert reply.contact == client_contact
    # And our answer to the reply carries the whole chain.
    answer = email_send(
        actor=teammate,
        mailbox=mailbox,
        to="ivan@client.ru",
        subject="Re: Offer",
        body="Thanks!",
        contact=client_contact,
        reply_to=reply,
    )
    _envelope, message = received(smtp)
    assert message["In-Reply-To"] == reply.message_id
    assert message["References"].split() == [sent.message_id, reply.message_id]
    assert answer.thread_key == sent.message_id
    assert EmailMessage.objects.filter(thread_key=sent.message_id).count() == 3


def test_a_reply_from_the_thread_page_is_prefilled_and_threaded(
    mailbox, smtp, deliver, client_contact, teammate, client, template
):
    deliver(mails.plain(subject="Вопрос", message_id="<q1@client.ru>"))
    mailbox_poll(mailbox)
    incoming = EmailMessage.objects.get()
    client.force_login(teammate)
    thread = client.get(reverse("intake:mail_thread", args=[incoming.pk])).content.decode()
    assert f"reply_to={incoming.pk}" in thread
    form = client.get(URL, {"contact": client_contact.pk, "reply_to": incoming.pk}).content.decode()
    assert 'value="Re: Вопрос"' in form
    with_template = client.get(
        URL, {"contact": client_contact.pk, "reply_to": incoming.pk, "template": template.pk}
    ).content.decode()
    assert 'value="Re: Вопрос"' in with_template  # a reply keeps its subject
    assert "Здравствуйте, Ivan!" in with_template
    client.post(
        URL,
        {
            "contact": client_contact.pk,
            "reply_to": incoming.pk,
            "mailbox": mailbox.pk,
            "to": "ivan@client.ru",
            "subject": "Re: Вопрос",
            "body": "Ответ",
        },
    )
    _envelope, message = received(smtp)
    assert message["In-Reply-To"] == "<q1@client.ru>"
    assert EmailMessage.objects.get(direction="out").thread_key == "<q1@client.ru>"


def test_a_refused_recipient_is_a_field_error_and_nothing_is_written(
    mailbox, smtp, client_contact, teammate, client
):
    client.force_login(teammate)
    response = client.post(
        URL,
        {
            "contact": client_contact.pk,
            "mailbox": mailbox.pk,
            "to": "nobody@client.ru",
            "subject": "Hi",
            "body": "Text",
        },
    )
    assert response.status_code == 200
    assert "refused the recipient" in response.content.decode()
    assert not EmailMessage.objects.exists()
    assert not Activity.objects.exists()


def test_an_unreachable_smtp_server_writes_nothing(mailbox, client_contact, teammate):
    from tests.intake_mail.servers import free_port

    mailbox.smtp_port = free_port()
    mailbox.save()
    with pytest.raises(SendFailed) as exc:
        email_send(
            actor=teammate,
            mailbox=mailbox,
            to="ivan@client.ru",
            subject="x",
            body="y",
            contact=client_contact,
        )
    assert "did not accept" in str(exc.value)
    assert not EmailMessage.objects.exists()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_when_the_mailbox_has_credentials(mailbox, client_contact, teammate):
    with smtp_running(credentials=("robot", "pa55")) as server:
        mailbox.smtp_port = server.port
        mailbox.smtp_username, mailbox.smtp_password = "robot", "wrong"
        mailbox.save()
        with pytest.raises(SendFailed):
            email_send(
                actor=teammate, mailbox=mailbox, to="a@client.ru", subject="x", body="y",
                contact=client_contact,
            )  # fmt: skip
        mailbox.smtp_password = "pa55"
        mailbox.save()
        email_send(
            actor=teammate, mailbox=mailbox, to="a@client.ru", subject="x", body="y",
            contact=client_contact,
        )  # fmt: skip
        assert server.logins == ["robot"] and len(server.messages) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"subject": ""}, "subject"),
        ({"body": "{{ contact.password }}"}, "body"),
        ({"body": "{{ user.__class__ }}"}, "body"),
    ],
)
def test_wrong_input_gets_a_field_error_and_sends_nothing(
    mailbox, smtp, client_contact, teammate, client, data, field
):
    client.force_login(teammate)
    post = {
        "contact": client_contact.pk,
        "mailbox": mailbox.pk,
        "to": "ivan@client.ru",
        "subject": "Hi",
        "body": "Text",
        **data,
    }
    response = client.post(URL, post)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert smtp.messages == [] and not EmailMessage.objects.exists()


def test_merge_fields_are_a_fixed_list_not_a_template_language(client_contact, teammate):
    text = (
        "{{ contact.first_name }} {{contact.last_name}} {% load x %} {{ contact.owner.password }}"
    )
    out = merge_render(text, contact=client_contact, user=teammate)
    assert out == "Ivan Sidorov {% load x %} {{ contact.owner.password }}"
    with pytest.raises(ValidationError):
        from svyaz.intake.mail.merge import merge_check

        merge_check(body="{{ contact.owner.password }}")


def test_an_outsider_cannot_open_the_form_for_a_client_out_of_scope(
    mailbox, client_contact, outsider, client
):
    client.force_login(outsider)
    assert client.get(URL, {"contact": client_contact.pk}).status_code == 404
    response = client.post(
        URL,
        {
            "contact": client_contact.pk,
            "mailbox": mailbox.pk,
            "to": "ivan@client.ru",
            "subject": "x",
            "body": "y",
        },
    )
    assert response.status_code == 404
    assert not EmailMessage.objects.exists()


def test_picking_a_template_by_htmx_returns_the_filled_form(
    mailbox, client_contact, teammate, client, template
):
    client.force_login(teammate)
    response = client.get(
        URL,
        {"contact": client_contact.pk, "template": template.pk, "mailbox": mailbox.pk},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<form")  # the partial, not the page
    assert "Здравствуйте, Ivan!" in html and "С уважением, Boris Ivanov" in html


def test_the_htmx_send_redirects_the_client(mailbox, smtp, client_contact, teammate, client):
    client.force_login(teammate)
    response = client.post(
        URL,
        {
            "contact": client_contact.pk,
            "mailbox": mailbox.pk,
            "to": "ivan@client.ru",
            "subject": "x",
            "body": "y",
        },
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == reverse("contacts:contact_detail", args=[client_contact.pk])
    assert len(smtp.messages) == 1
