from __future__ import annotations

from django.urls import reverse

from svyaz.contacts.models import Contact
from svyaz.dataquality.models import ImportJob, ImportStatus, MappingTemplate
from tests.dataquality.conftest import csv_bytes


def _upload(client, upload, rows, **kw):
    content = csv_bytes(rows, **kw)
    return client.post(
        reverse("dataquality:import_upload"), {"entity": "contact", "file": upload(content)}
    )


def test_it_walks_the_wizard_to_the_report(manager_client, upload, ru_rows):
    rows = [*ru_rows, ["Плохой", "", "", "12", "", "", "", ""]]
    response = _upload(manager_client, upload, rows, encoding="cp1251")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dataquality:import_mapping", args=[job.pk])

    page = manager_client.get(response["Location"]).content.decode()
    assert 'data-encoding="cp1251"' in page and 'data-delimiter=";"' in page
    assert '<option value="last_name" selected>' in page  # "Фамилия" guessed

    post = {f"col_{i}": v for i, v in job.mapping.items()} | {
        "mode": "create",
        "key_field": "",
        "template_name": "Old CRM",
    }
    response = manager_client.post(reverse("dataquality:import_mapping", args=[job.pk]), post)
    assert response.status_code == 302
    assert MappingTemplate.objects.get().name == "Old CRM"

    page = manager_client.get(response["Location"]).content.decode()
    assert 'id="import-preview"' in page and "will be created" in page
    assert 'data-row="5"' in page and "Моб. телефон" in page
    assert Contact.objects.count() == 0

    response = manager_client.post(reverse("dataquality:import_run", args=[job.pk]))
    assert response.status_code == 302
    detail = reverse("dataquality:import_detail", args=[job.pk])
    page = manager_client.get(detail).content.decode()
    assert 'data-status="running"' in page and 'aria-valuenow="0"' in page

    # Embedded mode: each HTMX poll advances the job by chunks (3 rows here).
    first = manager_client.post(detail, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in first and 'id="import-progress"' in first
    for _ in range(3):
        last = manager_client.post(detail, HTTP_HX_REQUEST="true").content.decode()
    assert 'aria-valuenow="100"' in last and 'data-status="done"' in last
    assert 'id="download-errors"' in last and "hx-post" not in last
    assert Contact.objects.count() == 3

    csv_text = manager_client.get(reverse("dataquality:import_errors_csv", args=[job.pk]))
    body = b"".join(csv_text.streaming_content).decode()
    assert "Row,Column,Reason" in body and "5,Моб. телефон" in body

    listing = manager_client.get(reverse("dataquality:import_list")).content.decode()
    assert "f.csv" in listing or "people.csv" in listing

    manager_client.post(reverse("dataquality:import_undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE and Contact.objects.count() == 0


def test_a_refused_file_shows_the_reason(manager_client, upload):
    response = manager_client.post(
        reverse("dataquality:import_upload"),
        {"entity": "contact", "file": upload(b"Name;Phone\r\nAnn;1\r\n", "fake.xlsx")},
    )
    assert response.status_code == 400
    assert "not an Excel workbook" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_bad_mapping_shows_errors(manager_client, upload, ru_rows):
    _upload(manager_client, upload, ru_rows)
    job = ImportJob.objects.get()
    response = manager_client.post(
        reverse("dataquality:import_mapping", args=[job.pk]), {"col_6": "city", "mode": "create"}
    )
    assert response.status_code == 400
    assert "Map a column to the first name" in response.content.decode()


def test_a_template_preselects_the_mapping(manager_client, upload, ru_rows, manager):
    _upload(manager_client, upload, ru_rows)
    job = ImportJob.objects.get()
    template = MappingTemplate.objects.create(
        owner=manager, entity="contact", name="T", mapping={"город": "description"}
    )
    page = manager_client.get(
        reverse("dataquality:import_mapping", args=[job.pk]) + f"?template={template.pk}"
    ).content.decode()
    assert '<option value="description" selected>' in page
    assert '<option value="last_name" selected>' not in page


def test_another_users_import_is_404(client, outsider, manager_client, upload, ru_rows):
    _upload(manager_client, upload, ru_rows)
    job = ImportJob.objects.get()
    client.force_login(outsider)
    for name in ("import_detail", "import_mapping", "import_preview", "import_errors_csv"):
        assert client.get(reverse(f"dataquality:{name}", args=[job.pk])).status_code == 404
    assert client.post(reverse("dataquality:import_undo", args=[job.pk])).status_code == 404
    assert client.post(reverse("dataquality:import_run", args=[job.pk])).status_code == 404
    assert "people.csv" not in client.get(reverse("dataquality:import_list")).content.decode()


def test_run_needs_post(manager_client, upload, ru_rows):
    _upload(manager_client, upload, ru_rows)
    job = ImportJob.objects.get()
    assert manager_client.get(reverse("dataquality:import_run", args=[job.pk])).status_code == 405
