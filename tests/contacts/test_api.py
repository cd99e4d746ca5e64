from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from svyaz.contacts.models import Company, Contact
from svyaz.core.models import CustomField, Tag, TimelineEntry

pytestmark = pytest.mark.django_db
CONTACTS = "/api/v1/contacts/"
COMPANIES = "/api/v1/companies/"


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_it_creates_a_contact_with_nested_phones_and_emails(api_client, manager, make_company):
    company = make_company()
    response = api_client.post(
        CONTACTS,
        {
            "first_name": "Анна",
            "last_name": "Смирнова",
            "phones": ["8 (916) 123-45-67", {"number": "+7 495 111-22-33"}],
            "emails": [{"email": "Anna@Example.com"}],
            "tags": ["vip"],
            "company": company.pk,
            "role": "CEO",
            "addresses": [{"city": "Москва"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["full_name"] == "Смирнова Анна"
    assert [p["number"] for p in body["phones"]] == ["+79161234567", "+74951112233"]
    assert body["emails"][0]["email"] == "anna@example.com"
    assert body["companies"] == [
        {"id": company.pk, "name": company.name, "role": "CEO", "is_primary": True}
    ]
    assert body["summary"]["status"] == "lead"
    assert body["owner"] == manager.pk


def test_it_answers_400_with_field_errors_and_writes_nothing(api_client):
    response = api_client.post(
        CONTACTS, {"first_name": "A", "phones": ["+7916"], "emails": ["bad"]}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"phones", "emails"}
    assert Contact.all_objects.count() == 0 and TimelineEntry.objects.count() == 0


def test_it_rejects_a_malformed_phone_list(api_client):
    response = api_client.post(CONTACTS, {"first_name": "A", "phones": [{"no": 1}]}, format="json")
    assert response.status_code == 400 and "phones" in response.json()


def test_it_validates_custom_values(api_client):
    CustomField.objects.create(entity="contact", code="size", label="Size", field_type="number")
    response = api_client.post(
        CONTACTS, {"first_name": "A", "custom": {"size": "many", "nope": 1}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"custom.size", "custom.nope"}
    response = api_client.post(
        CONTACTS, {"first_name": "A", "custom": {"size": "5"}}, format="json"
    )
    assert response.status_code == 201 and response.json()["custom"] == {"size": "5"}


def test_it_rejects_a_company_out_of_scope(api_client, outsider, make_company):
    company = make_company(actor=outsider)
    response = api_client.post(CONTACTS, {"first_name": "A", "company": company.pk}, format="json")
    assert response.status_code == 400 and "company" in response.json()


def test_it_reads_updates_and_deletes_a_contact(api_client, make_contact):
    contact = make_contact(phones=["+79161234567"])
    url = f"{CONTACTS}{contact.pk}/"
    assert api_client.get(url).json()["phones"][0]["number"] == "+79161234567"
    response = api_client.patch(
        url, {"last_name": "Сидоров", "phones": ["+7 916 000-00-00"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["full_name"] == "Сидоров Иван"
    assert response.json()["phones"][0]["number"] == "+79160000000"
    assert api_client.patch(url, {"emails": ["nope"]}, format="json").status_code == 400
    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404
    assert Contact.all_objects.get(pk=contact.pk).deleted_at is not None


def test_it_answers_404_out_of_scope(outsider, make_contact):
    contact = make_contact()
    c = client_for(outsider)
    url = f"{CONTACTS}{contact.pk}/"
    assert c.get(url).status_code == 404
    assert c.patch(url, {"first_name": "X"}, format="json").status_code == 404
    assert c.delete(url).status_code == 404
    assert c.get(CONTACTS).json()["results"] == []


def test_it_requires_authentication():
    assert APIClient().get(CONTACTS).status_code in (401, 403)


def test_it_filters_searches_and_orders(api_client, make_contact):
    make_contact(first_name="Анна", phones=["+79161234567"], tags="vip")
    make_contact(first_name="Борис")
    assert [
        r["first_name"]
        for r in api_client.get(CONTACTS, {"search": "8 916 123 45 67"}).json()["results"]
    ] == ["Анна"]
    assert [
        r["first_name"] for r in api_client.get(CONTACTS, {"search": "БОРИС"}).json()["results"]
    ] == ["Борис"]
    tag = Tag.objects.get(name="vip")
    assert [
        r["first_name"] for r in api_client.get(CONTACTS, {"tag": tag.pk}).json()["results"]
    ] == ["Анна"]
    ordered = api_client.get(CONTACTS, {"ordering": "-full_name"}).json()["results"]
    assert [r["first_name"] for r in ordered] == ["Борис", "Анна"]
    assert api_client.get(CONTACTS, {"status": "nonsense"}).status_code == 400


def test_it_paginates_with_a_capped_count(api_client, make_contact):
    for i in range(3):
        make_contact(first_name=f"N{i}")
    body = api_client.get(CONTACTS, {"page_size": 2}).json()
    assert body["count"] == 3 and body["next"] and len(body["results"]) == 2


def test_it_keeps_the_list_query_count_constant(
    api_client, make_contact, make_company, django_assert_num_queries
):
    company = make_company()
    make_contact(phones=["+79161234567"], emails=["a@example.com"], company=company, tags="a")
    with django_assert_num_queries(8) as one:
        api_client.get(CONTACTS)
    for i in range(29):
        make_contact(first_name=f"N{i}", phones=[f"+7916000{i:04d}"], company=company, tags="a, b")
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api_client.get(CONTACTS).json()["results"]) == 30


def test_it_creates_and_updates_a_company(api_client):
    response = api_client.post(
        COMPANIES,
        {"name": "Ромашка", "inn": "7707083893", "phones": ["+74951112233"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    url = f"{COMPANIES}{response.json()['id']}/"
    assert api_client.patch(url, {"inn": "123"}, format="json").json() == {
        "inn": ["INN must have 10 or 12 digits."]
    }
    assert (
        api_client.patch(url, {"website": "https://romashka.ru"}, format="json").status_code == 200
    )
    assert Company.objects.get().website == "https://romashka.ru"
    assert api_client.post(COMPANIES, {"inn": "7707083893"}, format="json").json().keys() == {
        "name"
    }


def test_it_keeps_the_company_list_query_count_constant(
    api_client, make_company, django_assert_num_queries
):
    make_company(name="A", phones=["+74951112233"])
    with django_assert_num_queries(7) as one:
        api_client.get(COMPANIES)
    for i in range(29):
        make_company(name=f"C{i}", tags="x")
    with django_assert_num_queries(len(one.captured_queries)):
        api_client.get(COMPANIES)


def test_it_lists_and_creates_tags(api_client):
    assert api_client.post("/api/v1/tags/", {"name": "VIP"}, format="json").status_code == 201
    assert api_client.post("/api/v1/tags/", {"name": "vip"}, format="json").json()["name"] == "VIP"
    assert Tag.objects.count() == 1
    assert api_client.post("/api/v1/tags/", {"name": ""}, format="json").status_code == 400
    assert [
        t["name"] for t in api_client.get("/api/v1/tags/", {"search": "vi"}).json()["results"]
    ] == ["VIP"]


def test_it_lets_only_staff_define_custom_fields(api_client, admin):
    payload = {
        "entity": "contact",
        "code": "segment",
        "label": "Segment",
        "field_type": "choice",
        "choices": ["B2B", "B2C"],
    }
    assert api_client.post("/api/v1/custom-fields/", payload, format="json").status_code == 403
    staff = client_for(admin)
    assert staff.post("/api/v1/custom-fields/", payload, format="json").status_code == 201
    assert (
        staff.post("/api/v1/custom-fields/", payload, format="json").status_code == 400
    )  # duplicate code
    bad = {**payload, "code": "kind", "choices": []}
    assert "choices" in staff.post("/api/v1/custom-fields/", bad, format="json").json()
    assert (
        api_client.get("/api/v1/custom-fields/", {"entity": "contact"}).json()["results"][0]["code"]
        == "segment"
    )
