"""Settings of the company structure (issue #3 item 1–2): departments, people, roles — pages
and API, guarded by the "settings" grant."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from svyaz.accounts.models import Department, Role, User
from svyaz.contacts.models import Contact
from svyaz.core import scoping
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(sales_dept):
    return UserFactory(username="boss", department=sales_dept, roles=["administrator"])


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


PAGES = [
    "/settings/",
    "/settings/departments/",
    "/settings/departments/new/",
    "/settings/users/",
    "/settings/users/new/",
    "/settings/roles/",
    "/settings/roles/new/",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_manager_is_refused_and_an_administrator_gets_the_page(url, manager_client, client, boss):
    assert manager_client.get(url).status_code == 403
    client.force_login(boss)
    assert client.get(url).status_code == 200


def test_the_department_tree_is_shown_in_order(boss_client, sales_dept):
    child = Department.objects.create(name="Sales North", parent=sales_dept)
    Department.objects.create(name="Accounting")
    body = boss_client.get("/settings/departments/").content.decode()
    assert body.index("Accounting") < body.index("Sales") < body.index(child.name)


def test_a_department_cannot_move_inside_itself(boss_client, sales_dept):
    child = Department.objects.create(name="Sales North", parent=sales_dept)
    r = boss_client.post(
        f"/settings/departments/{sales_dept.pk}/", {"name": "Sales", "parent": child.pk}
    )
    assert r.status_code == 200  # the form again, with the error
    sales_dept.refresh_from_db()
    assert sales_dept.parent_id is None


def test_a_department_gets_a_head_and_the_head_sees_it(boss_client, sales_dept, manager, teammate):
    Contact.objects.create(full_name="Teammate's", owner=teammate, department=sales_dept)
    assert not scoping.visible_to(manager, Contact.objects.all()).exists()
    r = boss_client.post(
        f"/settings/departments/{sales_dept.pk}/",
        {"name": "Sales", "head": manager.pk},
    )
    assert r.status_code == 302
    fresh = User.objects.get(pk=manager.pk)
    assert scoping.visible_to(fresh, Contact.objects.all()).count() == 1


def test_a_department_with_people_is_not_deleted(boss_client, sales_dept, manager):
    r = boss_client.post(f"/settings/departments/{sales_dept.pk}/delete/", follow=True)
    assert "still has people" in r.content.decode()
    assert Department.objects.filter(pk=sales_dept.pk).exists()


def test_a_new_person_gets_roles_and_a_link_to_set_the_password(boss_client, sales_dept):
    manager_role = Role.objects.get(code="manager")
    r = boss_client.post(
        "/settings/users/new/",
        {
            "username": "nina",
            "first_name": "Nina",
            "last_name": "K",
            "email": "nina@example.com",
            "department": sales_dept.pk,
            "roles": [manager_role.pk],
            "is_active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    nina = User.objects.get(username="nina")
    assert list(nina.roles.values_list("code", flat=True)) == ["manager"]
    assert len(mail.outbox) == 1 and "nina@example.com" in mail.outbox[0].to


def test_changing_roles_changes_what_a_person_sees(boss_client, manager, teammate, sales_dept):
    Contact.objects.create(full_name="Teammate's", owner=teammate, department=sales_dept)
    head_role = Role.objects.get(code="head_of_sales")
    r = boss_client.post(
        f"/settings/users/{manager.pk}/",
        {
            "first_name": manager.first_name,
            "last_name": manager.last_name,
            "email": manager.email,
            "department": sales_dept.pk,
            "roles": [head_role.pk],
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    fresh = User.objects.get(pk=manager.pk)
    assert scoping.visible_to(fresh, Contact.objects.all()).count() == 1


def test_an_administrator_cannot_deactivate_themselves(boss_client, boss):
    r = boss_client.post(
        f"/settings/users/{boss.pk}/",
        {
            "first_name": "B",
            "last_name": "B",
            "email": "b@example.com",
            "roles": [r.pk for r in boss.roles.all()],
        },
    )
    assert r.status_code == 200 and "cannot deactivate yourself" in r.content.decode()
    boss.refresh_from_db()
    assert boss.is_active


def _role_post(**overrides):
    data = {"name": "Telesales", "code": "telesales", "description": ""}
    from svyaz.accounts.models import Action, Entity

    for e in Entity:
        for a in Action:
            data[f"grant__{e.value}__{a.value}"] = "none"
    data.update(overrides)
    return data


def test_the_role_matrix_saves_grants_and_field_rules(boss_client):
    r = boss_client.post(
        "/settings/roles/new/",
        _role_post(
            **{
                "grant__deals__view": "department",
                "grant__deals__edit": "own",
                "rule__deals__amount": "hidden",
            }
        ),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    role = Role.objects.get(code="telesales")
    assert role.grants == {"deals": {"view": "department", "edit": "own"}}
    assert role.field_rules == {"deals": {"amount": "hidden"}}
    # The edit page shows the saved values back.
    page = boss_client.get(f"/settings/roles/{role.pk}/").content.decode()
    assert 'name="grant__deals__view"' in page
    assert '<option value="department" selected>' in page


def test_a_bad_scope_or_a_taken_code_is_a_field_error(boss_client):
    r = boss_client.post(
        "/settings/roles/new/", _role_post(code="manager", **{"grant__deals__view": "galaxy"})
    )
    assert r.status_code == 200
    form = r.context["form"]
    assert "code" in form.errors and "grant__deals__view" in form.errors
    assert not Role.objects.filter(name="Telesales").exists()


def test_a_role_held_by_someone_is_not_deleted(boss_client, manager):
    role = Role.objects.get(code="manager")
    boss_client.post(f"/settings/roles/{role.pk}/delete/")
    assert Role.objects.filter(pk=role.pk).exists()
    spare = Role.objects.create(code="spare", name="Spare")
    boss_client.post(f"/settings/roles/{spare.pk}/delete/")
    assert not Role.objects.filter(pk=spare.pk).exists()


# --- API ---------------------------------------------------------------------------------


def _api(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_the_roles_api_validates_grants(boss, manager):
    assert _api(manager).get("/api/v1/roles/").status_code == 403
    api = _api(boss)
    bad = api.post(
        "/api/v1/roles/",
        {"code": "x", "name": "X", "grants": {"deals": {"view": "galaxy"}}},
        format="json",
    )
    assert bad.status_code == 400 and "grants" in bad.json()
    bad_field = api.post(
        "/api/v1/roles/",
        {"code": "y", "name": "Y", "field_rules": {"deals": {"no_such_field": "hidden"}}},
        format="json",
    )
    assert bad_field.status_code == 400 and "field_rules" in bad_field.json()
    assert not Role.objects.filter(code__in=["x", "y"]).exists()
    ok = api.post(
        "/api/v1/roles/",
        {"code": "z", "name": "Z", "grants": {"contacts": {"view": "all"}}},
        format="json",
    )
    assert ok.status_code == 201


def test_the_user_access_api_sets_roles_by_code(boss, manager, teammate, sales_dept):
    Contact.objects.create(full_name="Teammate's", owner=teammate, department=sales_dept)
    assert (
        _api(manager)
        .patch(f"/api/v1/users/{manager.pk}/access/", {"roles": ["administrator"]}, format="json")
        .status_code
        == 403
    )
    assert list(manager.roles.values_list("code", flat=True)) == ["manager"]
    r = _api(boss).patch(
        f"/api/v1/users/{manager.pk}/access/", {"roles": ["head_of_sales"]}, format="json"
    )
    assert r.status_code == 200 and r.json()["roles"] == ["head_of_sales"]
    assert scoping.visible_to(User.objects.get(pk=manager.pk), Contact.objects.all()).count() == 1
    bad = _api(boss).patch(
        f"/api/v1/users/{manager.pk}/access/", {"roles": ["no-such-role"]}, format="json"
    )
    assert bad.status_code == 400 and "roles" in bad.json()
