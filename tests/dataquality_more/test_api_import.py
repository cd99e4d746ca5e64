from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from svyaz.contacts.models import Contact
from svyaz.dataquality.models import ImportJob, MappingTemplate
from svyaz.sales.models import Lead
from tests.dataquality_more.conftest import csv_bytes

URL = "/api/v1/imports/"
ROWS = [["Фамилия", "Имя", "Телефон"]] + [
    [f"Иванов{i}", "Иван", f"+7916123450{i}"] for i in range(6)
]
ROWS += [["Плохой", "Номер", "12"]]


def _file(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _post(client, content=None, name="people.csv", **data):
    body = {"entity": "contact", "mode": "create", **data}
    if content is not None:
        body["file"] = _file(content, name)
    return client.post(URL, body, format="multipart")


@pytest.fixture
def stepwise(settings):
    settings.SVYAZ_IMPORT_STEP_SECONDS = 0  # one chunk (3 rows) per progress read


def test_an_api_import_runs_in_the_background_with_progress_and_errors(
    api_client, manager, stepwise
):
    mapping = json.dumps({"Фамилия": "last_name", "Имя": "first_name", "2": "phone"})
    response = _post(api_client, csv_bytes(ROWS), mapping=mapping)
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["status"], job["entity"], job["total_rows"], job["processed"]) == (
        "running",
        "contact",
        7,
        0,
    )
    assert job["mapping"] == {"0": "last_name", "1": "first_name", "2": "phone"}
    assert Contact.objects.count() == 0  # nothing ran inside the request

    seen = []
    for _ in range(5):
        state = api_client.get(f"{URL}{job['id']}/").json()
        seen.append((state["status"], state["processed"], state["percent"]))
        if state["status"] == "done":
            break
    assert seen == [("running", 3, 42), ("running", 6, 85), ("done", 7, 100)]
    assert (state["created"], state["errors"], state["skipped"]) == (6, 1, 0)
    assert Contact.objects.count() == 6

    errors = api_client.get(f"{URL}{job['id']}/errors/").json()["results"]
    assert [(e["row"], e["column"]) for e in errors] == [(8, "Телефон")]
    assert errors[0]["raw"] == ["Плохой", "Номер", "12"]


def test_a_template_or_the_guess_maps_the_file(api_client, manager, stepwise):
    rows = [["Запрос", "Почта"], ["Опт", "a@example.com"]]
    template = MappingTemplate.objects.create(
        owner=manager, entity="lead", name="CRM", mapping={"запрос": "title", "почта": "email"}
    )
    response = _post(api_client, csv_bytes(rows), entity="lead", template=template.pk)
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    assert api_client.get(f"{URL}{job_id}/").json()["status"] == "done"
    assert Lead.objects.get().email == "a@example.com"

    guessed = _post(
        api_client, csv_bytes([["Обращение", "E-mail"], ["Б", "b@example.com"]]), entity="lead"
    )
    assert guessed.json()["mapping"] == {"0": "title", "1": "email"}


def test_upsert_by_key_through_the_api(api_client, manager, stepwise):
    _post(api_client, csv_bytes(ROWS[:2]))
    api_client.get(f"{URL}{ImportJob.objects.get().pk}/")
    rows = [["Телефон", "Имя", "Фамилия"], ["8 916 123-45-00", "Пётр", "Иванов0"]]
    response = _post(api_client, csv_bytes(rows), mode="upsert", key="phone")
    assert response.status_code == 201, response.content
    state = api_client.get(f"{URL}{response.json()['id']}/").json()
    assert (state["updated"], state["created"]) == (1, 0)
    assert Contact.objects.get().first_name == "Пётр"


XLSX_LIE = b"Name;Phone\r\nAnn;1\r\n"


@pytest.mark.parametrize(
    ("data", "content", "name", "field", "message"),
    [
        ({"entity": "spaceship"}, csv_bytes(ROWS), "p.csv", "entity", "not a valid choice"),
        ({"mapping": '{"Nope": "first_name"}'}, csv_bytes(ROWS), "p.csv", "mapping", "no column"),
        ({"mapping": '{"Имя": "shoe_size"}'}, csv_bytes(ROWS), "p.csv", "mapping", "Unknown field"),
        ({"mapping": "{not json"}, csv_bytes(ROWS), "p.csv", "mapping", "JSON"),
        ({"mapping": '["first_name"]'}, csv_bytes(ROWS), "p.csv", "mapping", "JSON object"),
        ({}, XLSX_LIE, "people.xlsx", "file", "not an Excel workbook"),
        ({}, b"", "p.csv", "file", "empty"),
        ({}, None, "p.csv", "file", "No file"),
        ({"key": "sku"}, csv_bytes(ROWS), "p.csv", "key", "cannot be used"),
        ({"mode": "update"}, csv_bytes(ROWS), "p.csv", "key", "needs a key"),
        ({"mode": "sometimes"}, csv_bytes(ROWS), "p.csv", "mode", "not a valid choice"),
        ({"template": 999999}, csv_bytes(ROWS), "p.csv", "template", "Unknown template"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_keeps_nothing(
    api_client, manager, settings, data, content, name, field, message
):
    response = _post(api_client, content, name=name, **data)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body and message in " ".join(body[field]), body
    assert not ImportJob.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_a_file_over_the_size_limit_is_refused(api_client, manager, settings):
    settings.SVYAZ_IMPORT_MAX_BYTES = 20
    response = _post(api_client, csv_bytes(ROWS))
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is too big."]}
    assert not ImportJob.objects.exists()


def test_another_users_template_is_unknown(api_client, outsider):
    template = MappingTemplate.objects.create(
        owner=outsider, entity="contact", name="T", mapping={}
    )
    response = _post(api_client, csv_bytes(ROWS), template=template.pk)
    assert response.status_code == 400 and "template" in response.json()


def test_importing_needs_the_import_grant(sales_dept, stepwise):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory(department=sales_dept, roles=["auditor"]))
    response = _post(client, csv_bytes(ROWS))
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_another_users_import_stays_404(api_client, outsider, stepwise):
    from rest_framework.test import APIClient

    other = APIClient()
    other.force_authenticate(outsider)
    job_id = _post(other, csv_bytes(ROWS)).json()["id"]
    assert api_client.get(f"{URL}{job_id}/").status_code == 404
    assert api_client.get(f"{URL}{job_id}/errors/").status_code == 404
    assert ImportJob.objects.get().processed == 0  # a 404 read does not advance it
