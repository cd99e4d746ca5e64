"""Every record entity through the API and the pages: own → editable and deletable; a
teammate's record the department-viewer role shows → 403 on every write, nothing changes;
another department's record → 404; each refusal is logged."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.access.conftest import API, RECORD_ENTITIES, api_as, page_as, row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("entity", RECORD_ENTITIES)
def test_a_manager_edits_and_deletes_own_records(entity, seeing_manager, make):
    obj = make(entity, seeing_manager)
    base, patch, field = API[entity]
    api = api_as(seeing_manager)
    response = api.patch(f"{base}{obj.pk}/", patch, format="json")
    assert response.status_code == 200, response.content
    assert row(obj)[field] == next(iter(patch.values()))
    assert api.delete(f"{base}{obj.pk}/").status_code == 204
    assert row(obj)["deleted_at"] is not None


@pytest.mark.parametrize("entity", RECORD_ENTITIES)
def test_a_visible_teammates_record_is_403_on_every_write_and_unchanged(
    entity, seeing_manager, teammate, make, denials
):
    obj = make(entity, teammate)
    before = row(obj)
    base, patch, _field = API[entity]
    api = api_as(seeing_manager)
    assert api.get(f"{base}{obj.pk}/").status_code == 200  # the viewer role shows it
    for method in ("patch", "put"):
        response = getattr(api, method)(f"{base}{obj.pk}/", patch, format="json")
        assert response.status_code == 403, (method, response.content)
        assert "detail" in response.json()
    assert api.delete(f"{base}{obj.pk}/").status_code == 403
    assert row(obj) == before
    assert denials.find(user=seeing_manager, entity=entity, action="edit", obj_id=obj.pk)
    assert denials.find(user=seeing_manager, entity=entity, action="delete", obj_id=obj.pk)


@pytest.mark.parametrize("entity", RECORD_ENTITIES)
def test_another_departments_record_is_404_and_logged(
    entity, seeing_manager, outsider, make, denials
):
    obj = make(entity, outsider)
    before = row(obj)
    base, patch, _field = API[entity]
    api = api_as(seeing_manager)
    assert api.get(f"{base}{obj.pk}/").status_code == 404
    assert api.patch(f"{base}{obj.pk}/", patch, format="json").status_code == 404
    assert api.delete(f"{base}{obj.pk}/").status_code == 404
    assert row(obj) == before
    assert denials.find(user=seeing_manager, entity=entity, action="view", obj_id=obj.pk)


def test_a_missing_id_is_404_and_not_logged_as_a_denial(seeing_manager, denials):
    assert api_as(seeing_manager).get("/api/v1/deals/999999/").status_code == 404
    assert denials.count() == 0


@pytest.mark.parametrize("entity", RECORD_ENTITIES)
def test_the_api_refuses_creating_without_the_create_grant(entity, dept_viewer_role, make):
    from tests.factories import UserFactory

    viewer = UserFactory(roles=[dept_viewer_role])
    base, _patch, _field = API[entity]
    response = api_as(viewer).post(base, {"title": "x", "name": "x"}, format="json")
    assert response.status_code == 403  # before validation: not a 400


# --- pages ------------------------------------------------------------------------------

EDIT_PAGES = {
    "companies": "contacts:company_edit",
    "contacts": "contacts:contact_edit",
    "leads": "sales:lead_edit",
    "deals": "sales:deal_edit",
    "tasks": "followups:followup_edit",
}
CARDS = {
    "companies": ("contacts:company_detail", "contacts:company_edit"),
    "contacts": ("contacts:contact_detail", "contacts:contact_edit"),
    "leads": ("sales:lead_detail", "sales:lead_edit"),
    "deals": ("sales:deal_detail", "sales:deal_edit"),
}


@pytest.mark.parametrize("entity", sorted(EDIT_PAGES))
def test_an_edit_page_of_a_visible_teammates_record_is_403(
    entity, seeing_manager, teammate, make, denials
):
    obj = make(entity, teammate)
    before = row(obj)
    url = reverse(EDIT_PAGES[entity], args=[obj.pk])
    client = page_as(seeing_manager)
    response = client.get(url)
    assert response.status_code == 403
    assert "Forbidden" in response.content.decode()  # the 403 page, not a bare error
    response = client.post(url, {"title": "Changed", "name": "Changed", "first_name": "X"})
    assert response.status_code == 403
    assert row(obj) == before
    assert denials.find(user=seeing_manager, entity=entity, action="edit", obj_id=obj.pk)


@pytest.mark.parametrize("entity", sorted(EDIT_PAGES))
def test_an_edit_page_out_of_scope_is_404(entity, seeing_manager, outsider, make):
    obj = make(entity, outsider)
    url = reverse(EDIT_PAGES[entity], args=[obj.pk])
    assert page_as(seeing_manager).get(url).status_code == 404


@pytest.mark.parametrize("entity", sorted(CARDS))
def test_cards_offer_edit_only_when_allowed(entity, seeing_manager, teammate, make):
    card, edit = CARDS[entity]
    client = page_as(seeing_manager)
    mine, theirs = make(entity, seeing_manager), make(entity, teammate)
    body = client.get(reverse(card, args=[mine.pk])).content.decode()
    assert reverse(edit, args=[mine.pk]) in body
    response = client.get(reverse(card, args=[theirs.pk]))
    assert response.status_code == 200
    assert reverse(edit, args=[theirs.pk]) not in response.content.decode()


def test_a_deal_card_of_a_teammate_has_no_stage_or_line_controls(seeing_manager, teammate, make):
    deal = make("deals", teammate)
    body = page_as(seeing_manager).get(reverse("sales:deal_detail", args=[deal.pk]))
    text = body.content.decode()
    assert 'id="line-form"' not in text
    assert reverse("sales:deal_line_add", args=[deal.pk]) not in text


@pytest.mark.parametrize("name", ["sales:deal_move", "sales:deal_line_add"])
def test_deal_actions_on_a_visible_teammates_deal_are_403(
    name, seeing_manager, teammate, make, pipeline
):
    deal = make("deals", teammate)
    data = {
        "stage": pipeline.stages.order_by("position")[1].pk,
        "name": "Extra",
        "price": "5",
        "quantity": "1",
    }
    before = row(deal)
    response = page_as(seeing_manager).post(reverse(name, args=[deal.pk]), data)
    assert response.status_code == 403
    assert row(deal) == before
    assert not deal.lines.exists()


def test_the_board_answers_a_refused_move_in_json(seeing_manager, teammate, make, pipeline):
    deal = make("deals", teammate)
    stage = pipeline.stages.order_by("position")[1]
    response = page_as(seeing_manager).post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stage.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    assert response.json()["ok"] is False
    assert row(deal)["stage_id"] != stage.pk


def test_the_board_locks_cards_the_user_may_not_move(seeing_manager, teammate, make, pipeline):
    mine, theirs = make("deals", seeing_manager), make("deals", teammate)
    body = page_as(seeing_manager).get(reverse("sales:board")).content.decode()
    assert f'board-card" data-deal-id="{mine.pk}"' in body
    assert f'board-card locked" data-deal-id="{theirs.pk}"' in body


@pytest.mark.parametrize(
    ("name", "entity"),
    [("followups:followup_complete", "tasks"), ("followups:followup_cancel", "tasks")],
)
def test_task_actions_on_a_visible_teammates_task_are_403(
    name, entity, seeing_manager, teammate, make
):
    task = make(entity, teammate)
    before = row(task)
    assert page_as(seeing_manager).post(reverse(name, args=[task.pk])).status_code == 403
    assert row(task) == before


def test_an_order_of_a_teammate_cannot_be_cancelled(seeing_manager, teammate, make):
    order = make("orders", teammate)
    before = row(order)
    client = page_as(seeing_manager)
    body = client.get(reverse("sales:order_detail", args=[order.pk])).content.decode()
    assert reverse("sales:order_cancel", args=[order.pk]) not in body
    assert client.post(reverse("sales:order_cancel", args=[order.pk])).status_code == 403
    assert row(order) == before


def test_a_lead_of_a_teammate_cannot_be_converted(seeing_manager, teammate, make):
    lead = make("leads", teammate)
    before = row(lead)
    response = page_as(seeing_manager).post(
        reverse("sales:lead_convert", args=[lead.pk]), {"create_deal": ""}
    )
    assert response.status_code == 403
    assert row(lead) == before


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("contacts:contact_create", "contacts"),
        ("contacts:company_create", "companies"),
        ("sales:lead_create", "leads"),
        ("sales:deal_create", "deals"),
        ("sales:order_create", "orders"),
        ("activities:activity_create", "activities"),
        ("followups:followup_create", "tasks"),
    ],
)
def test_create_pages_need_the_create_grant(name, entity, dept_viewer_role, denials):
    from tests.factories import UserFactory

    viewer = UserFactory(roles=[dept_viewer_role])
    assert page_as(viewer).get(reverse(name)).status_code == 403
    assert denials.find(user=viewer, entity=entity, action="create")


def test_list_pages_offer_new_and_export_only_when_granted(dept_viewer_role, manager):
    from tests.factories import UserFactory

    viewer = UserFactory(roles=[dept_viewer_role])
    body = page_as(viewer).get(reverse("contacts:contact_list")).content.decode()
    assert reverse("contacts:contact_create") not in body
    assert "export=csv" not in body
    assert 'value="delete"' not in body
    body = page_as(manager).get(reverse("contacts:contact_list")).content.decode()
    assert reverse("contacts:contact_create") in body
    assert "export=csv" in body
