from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from svyaz.followups.models import Followup
from svyaz.intake import webforms
from svyaz.intake.models import LeadIntake, Submission
from svyaz.sales.models import Lead

pytestmark = pytest.mark.django_db

URL = reverse("intake:form_submit", args=["contact-us"])
GOOD = {
    "name": "Olga",
    "phone": "8 (903) 555-12-34",
    "email": "Olga@Example.com",
    "message": "Need a quote",
    "consent": "1",
    "_utm_source": "yandex",
    "_utm_medium": "cpc",
    "_utm_campaign": "spring",
    "_utm_term": "crm",
    "_referrer": "https://ya.ru/search?q=crm",
    "_landing_page": "https://shop.example/promo?utm_source=yandex",
}


def post(client, data, **extra):
    return client.post(URL, data, HTTP_ACCEPT="application/json", **extra)


def test_it_creates_a_lead_with_utm_and_a_first_response_task(client, webform, manager):
    response = post(client, GOOD, HTTP_ORIGIN="https://shop.example")
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "message": webform.success_message}
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    lead = Lead.objects.get()
    assert (lead.source, lead.channel) == ("web_form", "web")
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("yandex", "cpc", "spring")
    assert lead.first_name == "Olga" and lead.phone == "+79035551234"
    assert lead.email == "olga@example.com" and lead.description == "Need a quote"
    assert lead.owner == manager  # first in the round-robin
    intake = LeadIntake.objects.get(lead=lead)
    assert intake.referrer == "https://ya.ru/search?q=crm"
    assert intake.landing_page == "https://shop.example/promo?utm_source=yandex"
    assert intake.utm["utm_term"] == "crm"
    submission = Submission.objects.get()
    assert submission.status == "processed" and submission.lead == lead
    task = Followup.objects.get()
    assert task.assignee == manager and task.title.startswith("First response")
    assert task.due_at == submission.received_at + timedelta(minutes=15)
    assert intake.first_response == task and intake.sla_due_at == task.due_at


def test_it_accepts_json(client, webform):
    response = client.post(
        URL, {"name": "Olga", "email": "o@example.com", "consent": True}, "application/json"
    )
    assert response.status_code == 200, response.content
    assert Lead.objects.get().email == "o@example.com"


def test_it_answers_the_cors_preflight_only_for_allowed_origins(client, webform):
    webform.allowed_origins = ["https://shop.example"]
    webform.save()
    ok = client.options(URL, HTTP_ORIGIN="https://shop.example")
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == "https://shop.example"
    other = client.options(URL, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    refused = post(client, GOOD, HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403
    assert not Lead.objects.exists()


def test_it_stores_the_submission_before_processing(client, webform, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr("svyaz.intake.webforms.intake_lead_create", broken)
    response = post(client, GOOD)
    assert response.status_code == 200  # stored: the visitor is told it arrived
    submission = Submission.objects.get()
    assert submission.status == "received"
    assert "queue down" in submission.error
    assert submission.payload["name"] == "Olga"
    assert not Lead.objects.exists()

    monkeypatch.undo()
    assert webforms.submissions_retry() == 1
    assert webforms.submission_process(submission.pk) == Lead.objects.get()  # idempotent
    submission.refresh_from_db()
    assert submission.status == "processed" and submission.error == ""
    assert Lead.objects.count() == 1 and Followup.objects.count() == 1


def test_processing_twice_creates_one_lead(client, webform):
    post(client, GOOD)
    submission = Submission.objects.get()
    from svyaz.intake.tasks import submission_process

    submission_process.delay(submission.pk)
    submission_process(submission.pk)
    assert Lead.objects.count() == 1


def test_a_filled_honeypot_is_spam_with_a_friendly_answer(client, webform):
    response = post(client, {**GOOD, "homepage": "http://spam.example"})
    assert response.status_code == 200 and response.json()["ok"] is True
    assert Submission.objects.get().status == "spam"
    assert not Lead.objects.exists()


def test_it_limits_submissions_per_address(client, webform):
    for _ in range(webforms.RATE_LIMIT):
        assert post(client, {**GOOD, "homepage": "x"}).status_code == 200
    response = post(client, GOOD)
    assert response.status_code == 429
    assert "Too many submissions" in response.json()["message"]
    assert Submission.objects.count() == webforms.RATE_LIMIT
    # Another address still gets through.
    assert post(client, GOOD, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_invalid_input_gets_field_errors(client, webform):
    response = post(client, {"name": "", "phone": "12", "email": "nope", "consent": ""})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "phone", "email", "consent"}
    assert errors["email"] == ["Enter a valid email address."]
    assert Submission.objects.get().status == "invalid"
    assert not Lead.objects.exists()


def test_a_plain_html_post_gets_the_form_back_with_errors(client, webform):
    response = client.post(URL, {"name": "Olga", "email": "nope", "consent": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html and 'value="Olga"' in html
    ok = client.post(URL, {**GOOD}, HTTP_REFERER="https://shop.example/?utm_source=vk")
    assert ok.status_code == 200 and str(webform.success_message) in ok.content.decode()


def test_the_landing_page_falls_back_to_the_http_referer(client, webform):
    data = {k: v for k, v in GOOD.items() if not k.startswith("_")}
    client.post(URL, data, HTTP_REFERER="https://shop.example/?utm_source=vk&utm_campaign=x")
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_campaign) == ("vk", "x")
    assert lead.intake.landing_page == "https://shop.example/?utm_source=vk&utm_campaign=x"


def test_a_known_phone_in_another_format_links_the_existing_contact(
    client, webform, known_contact, teammate
):
    from svyaz.contacts.models import Contact

    response = post(client, {**GOOD, "phone": "+7 (916) 1234567", "email": ""})
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.contact == known_contact
    assert lead.owner == teammate  # the contact's owner answers their own client
    assert lead.intake.duplicate_of == known_contact
    assert Contact.objects.count() == 1
    assert Followup.objects.get().contact == known_contact


def test_unknown_or_inactive_forms_are_404(client, webform):
    assert client.post(reverse("intake:form_submit", args=["nope"]), GOOD).status_code == 404
    webform.active = False
    webform.save()
    assert post(client, GOOD).status_code == 404


def test_staff_see_the_embed_snippet(client, webform, admin, manager):
    client.force_login(manager)
    page = reverse("intake:form_snippet", args=[webform.pk])
    assert client.get(page).status_code == 403  # no settings grant (issue #3)
    client.force_login(admin)
    html = client.get(page).content.decode()
    assert "data-svyaz-form" in html and "intake/embed.js" in html and "homepage" in html
    assert client.get(reverse("intake:form_list")).status_code == 200


def test_the_lead_sla_partial_shows_the_due_time(client, webform):
    from django.template.loader import render_to_string

    post(client, GOOD)
    lead = Lead.objects.get()
    html = render_to_string("intake/lead_sla.html", {"lead": lead})
    assert 'id="sla-timer"' in html and "First response due" in html
    other = Lead.objects.create(title="manual")
    assert render_to_string("intake/lead_sla.html", {"lead": other}).strip() == ""


def test_the_form_page_renders_for_visitors_without_javascript(client, webform):
    html = client.get(URL).content.decode()
    assert 'name="consent"' in html and webform.consent_text in html


def test_admin_pages_for_forms_routing_and_telephony_render(client, admin, webform, provider):
    client.force_login(admin)
    for name in (
        "webform",
        "submission",
        "routinggroup",
        "responsesla",
        "telephonyprovider",
        "callevent",
        "leadintake",
    ):
        assert client.get(reverse(f"admin:intake_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:intake_webform_add")).status_code == 200
    assert client.get(reverse("admin:intake_routinggroup_add")).status_code == 200
    response = client.post(
        reverse("admin:intake_webform_change", args=[webform.pk]),
        {
            "name": "x",
            "key": "contact-us",
            "fields": '[{"name": "a", "target": "salary"}]',
            "success_message": "ok",
            "allowed_origins": '["ftp://x"]',
            "honeypot_field": "hp",
            "active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with errors
    assert "map to one of" in response.content.decode()


def test_an_unanswered_first_response_becomes_overdue(client, webform, manager):
    import time_machine
    from django.template.loader import render_to_string
    from django.utils import timezone

    from svyaz.followups.selectors import my_day

    post(client, GOOD)
    lead = Lead.objects.get()
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        day = my_day(user=manager)
        assert day["counts"]["overdue"] == 1
        rows = day["overdue"] + day["due_today"] + day["callbacks"]
        assert [r.overdue_now for r in rows] == [True]
        lead = Lead.objects.select_related("intake__first_response").get()
        html = render_to_string("intake/lead_sla.html", {"lead": lead})
        assert "data-sla-overdue" in html


def test_a_very_long_name_still_makes_a_lead_and_a_task(client, webform):
    response = post(client, {**GOOD, "name": "O" * 100, "message": "x" * 4000})
    assert response.status_code == 200
    assert Submission.objects.get().status == "processed"
    assert len(Followup.objects.get().title) <= 255


def test_a_value_longer_than_the_lead_field_is_a_field_error(client, webform):
    response = post(client, {**GOOD, "name": "O" * 101})
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["Ensure this value has at most 100 characters."]
