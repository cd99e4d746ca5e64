from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from svyaz.accounts.models import Department
from tests.factories import UserFactory


@pytest.fixture
def staff_client(admin):
    c = APIClient()
    c.force_authenticate(admin)
    return c


def test_me(api_client, manager):
    data = api_client.get("/api/v1/me/").json()
    assert (
        data["id"] == manager.pk
        and data["name"] == "Anna Petrova"
        and data["department_name"] == "Sales"
    )
    assert "password" not in data


def test_me_needs_authentication():
    assert APIClient().get("/api/v1/me/").status_code in (401, 403)


def test_users_directory_is_read_only_and_pins_queries(
    api_client, manager, teammate, outsider, sales_dept
):
    api_client.get("/api/v1/users/")
    with CaptureQueriesContext(connection) as one:
        api_client.get("/api/v1/users/")
    for _ in range(20):
        UserFactory(department=sales_dept)
    with CaptureQueriesContext(connection) as many:
        data = api_client.get("/api/v1/users/").json()
    assert len(one.captured_queries) == len(many.captured_queries)
    assert set(data["results"][0]) == {"id", "name", "department", "department_name"}
    assert api_client.get("/api/v1/users/", {"search": "Orlov"}).json()["count"] == 1
    assert (
        api_client.get("/api/v1/users/", {"department": outsider.department_id}).json()["count"]
        == 1
    )
    assert api_client.post("/api/v1/users/", {"username": "x"}).status_code == 405


def test_departments_read_for_all_write_for_staff(api_client, staff_client, sales_dept, manager):
    assert api_client.get("/api/v1/departments/").json()["count"] >= 1
    assert (
        api_client.post("/api/v1/departments/", {"name": "New"}, format="json").status_code == 403
    )
    created = staff_client.post(
        "/api/v1/departments/", {"name": " Support ", "parent": sales_dept.pk}, format="json"
    )
    assert created.status_code == 201 and created.json()["name"] == "Support"
    bad = staff_client.post("/api/v1/departments/", {"name": "  "}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()
    loop = staff_client.patch(
        f"/api/v1/departments/{sales_dept.pk}/", {"parent": created.json()["id"]}, format="json"
    )
    assert loop.status_code == 400 and "parent" in loop.json()
    busy = staff_client.delete(f"/api/v1/departments/{sales_dept.pk}/")
    assert busy.status_code == 400
    assert Department.objects.filter(pk=sales_dept.pk).exists()
    assert staff_client.delete(f"/api/v1/departments/{created.json()['id']}/").status_code == 204
