from __future__ import annotations

import pytest
from django.utils import timezone

from svyaz.contacts import services as contact_services
from svyaz.contacts.models import Company, Contact

URL = "/api/v1/contacts/"


@pytest.fixture
def ivan(manager):
    return contact_services.contact_create(
        actor=manager,
        first_name="Иван",
        last_name="Иванов",
        phones=["+79161234567"],
        emails=["ivan@example.com"],
    )


def test_a_known_phone_in_another_format_answers_409_with_the_candidate(api_client, ivan):
    response = api_client.post(
        URL, {"first_name": "Ваня", "phones": ["8 (916) 123-45-67"]}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate" and "confirm_duplicate" in body["detail"]
    assert body["duplicates"] == [
        {"id": ivan.pk, "name": "Иванов Иван", "visible": True, "reasons": ["phone"]}
    ]
    assert Contact.objects.count() == 1


def test_a_known_email_in_other_case_is_a_duplicate_too(api_client, ivan):
    response = api_client.post(
        URL, {"first_name": "I", "emails": ["IVAN@Example.com"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["duplicates"][0]["reasons"] == ["email"]


@pytest.mark.parametrize(
    ("url", "extra"),
    [(URL + "?force=1", {}), (URL, {"confirm_duplicate": True})],
)
def test_force_or_confirm_creates_it_anyway(api_client, ivan, url, extra):
    response = api_client.post(
        url, {"first_name": "Ваня", "phones": ["8 916 123-45-67"], **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    assert "confirm_duplicate" not in response.json()
    assert Contact.objects.count() == 2


def test_a_close_name_in_the_same_company_is_a_duplicate(api_client, manager):
    company = contact_services.company_create(actor=manager, name="Ромашка")
    petr = contact_services.contact_create(
        actor=manager, first_name="Пётр", last_name="Сидоров", middle_name="Ильич", company=company
    )
    data = {"last_name": "сидоров", "first_name": "Петр", "company": company.pk}
    response = api_client.post(URL, data, format="json")
    assert response.status_code == 409
    assert response.json()["duplicates"] == [
        {"id": petr.pk, "name": petr.full_name, "visible": True, "reasons": ["name_and_company"]}
    ]
    other = contact_services.company_create(actor=manager, name="Лютик")
    response = api_client.post(URL, {**data, "company": other.pk}, format="json")
    assert response.status_code == 201  # the same name elsewhere is another person


def test_a_duplicate_out_of_scope_is_listed_without_details(api_client, outsider):
    contact_services.contact_create(
        actor=outsider, first_name="Скрытый", emails=["hidden@example.com"]
    )
    response = api_client.post(
        URL, {"first_name": "X", "emails": ["hidden@example.com"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["duplicates"] == [
        {"id": None, "name": None, "visible": False, "reasons": ["email"]}
    ]


def test_new_people_and_updates_are_not_held_up(api_client, ivan):
    response = api_client.post(
        URL, {"first_name": "Новый", "phones": ["+79031112233"]}, format="json"
    )
    assert response.status_code == 201
    patch = api_client.patch(
        f"{URL}{ivan.pk}/", {"job_title": "CEO", "confirm_duplicate": True}, format="json"
    )
    assert patch.status_code == 200 and patch.json()["job_title"] == "CEO"


def test_a_company_with_a_known_name_or_inn_answers_409(api_client, manager):
    contact_services.company_create(actor=manager, name="Ромашка", inn="7707083893")
    response = api_client.post("/api/v1/companies/", {"name": "  ромашка "}, format="json")
    assert response.status_code == 409
    assert response.json()["duplicates"][0]["reasons"] == ["name"]
    response = api_client.post(
        "/api/v1/companies/", {"name": "Другая", "inn": "7707083893"}, format="json"
    )
    assert response.json()["duplicates"][0]["reasons"] == ["inn"]
    forced = api_client.post("/api/v1/companies/?force=true", {"name": "Ромашка"}, format="json")
    assert forced.status_code == 201 and Company.objects.count() == 2


def test_intake_attaches_the_existing_contact_instead_of_a_second_one(ivan, manager):
    """Intake (web forms, telephony) already links a request to the contact with the same
    phone or email in any format: verified here, not rebuilt."""
    from svyaz.intake.services import intake_lead_create

    lead = intake_lead_create(
        channel="web",
        source="web_form",
        received_at=timezone.now(),
        title="Заявка с сайта",
        fields={"first_name": "Иван", "email": "IVAN@example.com", "phone": "8 916 123 4567"},
    )
    assert lead.contact == ivan and lead.owner == manager
    assert lead.intake.duplicate_of == ivan
    assert Contact.objects.count() == 1
