from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from svyaz.contacts import services as contact_services
from svyaz.dataquality.models import ImportJob, ImportStatus
from svyaz.sales.models import Deal, Order
from tests.dataquality_more.conftest import csv_bytes

ROWS = [
    ["Название сделки", "Этап", "Сумма", "Дата закрытия", "E-mail", "ID"],
    ["Поставка 1", "Negotiation", "100", "", "ivan@example.com", "D-1"],
    ["Поставка 2", "Won", "250,50", "15.03.2024", "ivan@example.com", "D-2"],
    ["Поставка 3", "Космос", "1", "", "ivan@example.com", "D-3"],
    ["Поставка 4", "New", "1", "", "", "D-4"],
]


def test_the_wizard_imports_deals_from_upload_to_undo(manager_client, manager, pipeline, upload):
    contact_services.contact_create(actor=manager, first_name="Иван", emails=["ivan@example.com"])
    page = manager_client.get(reverse("dataquality:import_upload")).content.decode()
    for value in ("lead", "deal", "activity", "product"):
        assert f'<option value="{value}"' in page

    response = manager_client.post(
        reverse("dataquality:import_upload"), {"entity": "deal", "file": upload(csv_bytes(ROWS))}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.entity == "deal"
    page = manager_client.get(reverse("dataquality:import_mapping", args=[job.pk])).content
    page = page.decode()
    assert '<option value="title" selected>' in page and '<option value="stage" selected>' in page
    assert '<option value="external_id">' in page and '<option value="sku">' not in page

    post = {f"col_{i}": v for i, v in job.mapping.items()}
    post |= {"mode": "upsert", "key_field": "external_id"}
    response = manager_client.post(reverse("dataquality:import_mapping", args=[job.pk]), post)
    assert response.status_code == 302
    page = manager_client.get(reverse("dataquality:import_preview", args=[job.pk])).content
    assert "Unknown stage" in page.decode()
    assert not Deal.objects.exists()  # the preview keeps nothing

    manager_client.post(reverse("dataquality:import_run", args=[job.pk]))
    detail = reverse("dataquality:import_detail", args=[job.pk])
    for _ in range(4):
        last = manager_client.post(detail, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="done"' in last
    job.refresh_from_db()
    assert (job.created, job.errors) == (3, 1)
    assert Order.objects.get().amount == Decimal("250.50")

    manager_client.post(reverse("dataquality:import_undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert not Deal.objects.exists() and not Order.objects.exists()


def test_the_quality_page_needs_a_login(client):
    response = client.get(reverse("dataquality:quality"))
    assert response.status_code == 302 and "login" in response["Location"]
