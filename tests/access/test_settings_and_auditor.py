"""Settings pages and the API's configuration endpoints need the "settings" grant (the
Administrator role; superusers pass) — not `is_staff`. The read-only Auditor role sees and
exports everything and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from svyaz.sales.models import Pipeline
from tests.access.conftest import API, RECORD_ENTITIES, api_as, page_as, row
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS_PAGES = [
    "intake:form_list",
    "intake:mail_settings",
    "intake:mailbox_create",
    "intake:email_template_create",
    "intake:mail_quarantine",
    "intake:chat_widgets",
    "dataquality:dedup_settings",
    "audit:list",
]


@pytest.fixture
def administrator(roles, other_dept):
    """The Administrator role, not a superuser nor staff."""
    return UserFactory(username="administrator", roles=["administrator"], department=other_dept)


@pytest.fixture
def auditor(roles, other_dept):
    return UserFactory(username="auditor_role", roles=["auditor"], department=other_dept)


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_settings_pages_are_403_for_a_manager_and_open_to_the_administrator_role(
    name, manager, administrator, denials
):
    url = reverse(name)
    response = page_as(manager).get(url)
    assert response.status_code == 403
    assert denials.find(user=manager, entity="settings", action=denials_action(name))
    assert page_as(administrator).get(url).status_code == 200


def denials_action(name: str) -> str:
    return "edit" if name == "dataquality:dedup_settings" else "view"


def test_staff_without_the_settings_grant_is_refused(db, roles):
    staff = UserFactory(is_staff=True)  # the manager role: no settings grant
    assert page_as(staff).get(reverse("intake:form_list")).status_code == 403
    assert api_as(staff).get("/api/v1/audit/").status_code == 403


def test_the_menu_shows_settings_only_to_whom_may_open_them(manager, administrator):
    link = reverse("intake:form_list")
    assert link not in page_as(manager).get(reverse("followups:my_day")).content.decode()
    assert link in page_as(administrator).get(reverse("followups:my_day")).content.decode()


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/pipelines/", {"name": "Partners"}),
        ("/api/v1/lost-reasons/", {"name": "Price"}),
        ("/api/v1/price-lists/", {"name": "Dealers", "currency": "RUB"}),
        (
            "/api/v1/custom-fields/",
            {"entity": "contact", "code": "shoe", "label": "Shoe", "field_type": "text"},
        ),
        ("/api/v1/departments/", {"name": "Support"}),
    ],
)
def test_configuration_is_read_by_all_and_written_with_the_settings_grant(
    path, payload, manager, administrator
):
    assert api_as(manager).get(path).status_code == 200
    assert api_as(manager).post(path, payload, format="json").status_code == 403
    assert api_as(administrator).post(path, payload, format="json").status_code == 201


def test_settings_api_needs_the_settings_grant(manager, administrator):
    for path in ("/api/v1/mailboxes/", "/api/v1/audit/", "/api/v1/audit/denials/"):
        assert api_as(manager).get(path).status_code == 403, path
        assert api_as(administrator).get(path).status_code == 200, path


def test_duplicate_settings_service_needs_the_grant(manager, administrator):
    from svyaz.core.errors import PermissionDenied
    from svyaz.dataquality.dedup.services import dedup_settings_update

    with pytest.raises(PermissionDenied):
        dedup_settings_update(actor=manager, data={"review_threshold": 0.8})
    assert dedup_settings_update(actor=administrator, data={"review_threshold": 0.8})


# --- the read-only auditor ---------------------------------------------------------------


@pytest.mark.parametrize("entity", RECORD_ENTITIES)
def test_the_auditor_sees_everything_and_changes_nothing(entity, auditor, teammate, make):
    obj = make(entity, teammate)  # another department's record
    before = row(obj)
    base, patch, _field = API[entity]
    api = api_as(auditor)
    assert api.get(f"{base}{obj.pk}/").status_code == 200
    assert api.get(base).json()["count"] >= 1
    assert api.patch(f"{base}{obj.pk}/", patch, format="json").status_code == 403
    assert api.put(f"{base}{obj.pk}/", patch, format="json").status_code == 403
    assert api.delete(f"{base}{obj.pk}/").status_code == 403
    assert api.post(base, {"title": "x", "name": "x"}, format="json").status_code == 403
    assert row(obj) == before


def test_the_auditor_exports_everything(auditor, manager, outsider, make):
    make("contacts", manager, name="Anna's client")
    make("contacts", outsider, name="Gleb's client")
    response = page_as(auditor).get(reverse("contacts:contact_list") + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Anna's client" in body and "Gleb's client" in body


def test_the_auditor_reads_settings_but_does_not_change_them(auditor):
    client = page_as(auditor)
    assert client.get(reverse("audit:list")).status_code == 200
    assert client.get(reverse("intake:form_list")).status_code == 200
    assert client.post(reverse("dataquality:dedup_settings"), {}).status_code == 403
    assert client.post(reverse("dataquality:duplicates_scan")).status_code == 403
    assert (
        api_as(auditor).post("/api/v1/pipelines/", {"name": "X"}, format="json").status_code == 403
    )
    assert not Pipeline.objects.filter(name="X").exists()


def test_the_auditors_pages_offer_no_writes(auditor, teammate, make):
    deal = make("deals", teammate)
    client = page_as(auditor)
    card = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert reverse("sales:deal_edit", args=[deal.pk]) not in card
    assert client.get(reverse("sales:deal_edit", args=[deal.pk])).status_code == 403
    assert client.get(reverse("sales:deal_create")).status_code == 403
    listing = client.get(reverse("sales:deal_list")).content.decode()
    assert 'id="bulk-bar"' not in listing and "export=csv" in listing
    response = client.post(
        reverse("core:bulk", args=["deal"]), {"action": "delete", "ids": [deal.pk]}
    )
    assert response.status_code == 302
    assert row(deal)["deleted_at"] is None
    assert client.get(reverse("dataquality:import_upload")).status_code == 403


def test_the_auditor_cannot_move_a_deal_or_add_a_line(auditor, teammate, make, pipeline):
    deal = make("deals", teammate)
    client = page_as(auditor)
    stage = pipeline.stages.order_by("position")[1]
    assert (
        client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stage.pk}).status_code
        == 403
    )
    response = client.post(
        reverse("sales:deal_line_add", args=[deal.pk]), {"name": "X", "price": Decimal("1")}
    )
    assert response.status_code == 403
    assert row(deal)["stage_id"] != stage.pk and not deal.lines.exists()
