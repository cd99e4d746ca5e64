from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.contacts.models import Contact
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.sales import services as s
from svyaz.sales.models import Deal, DealStageChange, Lead, LeadStatus, Order
from tests.factories import ContactFactory, PipelineFactory, ProductFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- leads ---------------------------------------------------------------------------


def test_it_lists_leads(manager_client, manager):
    s.lead_create(actor=manager, title="Need pumps")
    r = manager_client.get(reverse("sales:lead_list"))
    assert r.status_code == 200 and "Need pumps" in r.content.decode()


def test_it_creates_a_lead_and_shows_field_errors(manager_client, manager):
    r = manager_client.post(
        reverse("sales:lead_create"), {"title": "", "phone": "abc", "owner": manager.pk}
    )
    assert r.status_code == 200
    assert "This field is required." in r.content.decode() and Lead.objects.count() == 0
    r = manager_client.post(
        reverse("sales:lead_create"),
        {"title": "Pumps", "phone": "8 916 123-45-67", "owner": manager.pk},
    )
    lead = Lead.objects.get()
    assert r.status_code == 302 and r.url == reverse("sales:lead_detail", args=[lead.pk])
    assert lead.phone == "+79161234567"


def test_a_bad_phone_shows_on_the_field(manager_client, manager):
    r = manager_client.post(
        reverse("sales:lead_create"), {"title": "Pumps", "phone": "abc", "owner": manager.pk}
    )
    assert r.status_code == 200 and "is not a phone number" in r.content.decode()


def test_it_edits_a_lead(manager_client, manager):
    lead = s.lead_create(actor=manager, title="Pumps")
    r = manager_client.post(
        reverse("sales:lead_edit", args=[lead.pk]), {"title": "Pumps x3", "owner": manager.pk}
    )
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.title == "Pumps x3"


def test_it_converts_a_lead_from_its_page(manager_client, manager, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan", company_name="Romashka")
    assert manager_client.get(reverse("sales:lead_detail", args=[lead.pk])).status_code == 200
    r = manager_client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {
            "create_deal": "on",
            "deal_title": "Pumps deal",
            "pipeline": pipeline.pk,
            "amount": "1000",
            "currency": "RUB",
        },
    )
    deal = Deal.objects.get()
    assert r.status_code == 302 and r.url == reverse("sales:deal_detail", args=[deal.pk])
    assert deal.title == "Pumps deal" and deal.amount == Decimal("1000")
    # a second conversion is refused with a message, nothing new written
    r = manager_client.post(reverse("sales:lead_convert", args=[lead.pk]), {"create_deal": "on"})
    assert r.status_code == 400 and "already been converted" in r.content.decode()
    assert Deal.objects.count() == 1 and Contact.objects.count() == 1


def test_convert_needs_post(manager_client, manager):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan")
    assert manager_client.get(reverse("sales:lead_convert", args=[lead.pk])).status_code == 405


def test_an_outsider_gets_404_on_a_lead(client, manager, outsider, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan")
    client.force_login(outsider)
    assert client.get(reverse("sales:lead_detail", args=[lead.pk])).status_code == 404
    assert client.post(reverse("sales:lead_convert", args=[lead.pk])).status_code == 404
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


# --- board ---------------------------------------------------------------------------


def _deals(manager, pipeline, n):
    contact = ContactFactory(owner=manager)
    return [
        s.deal_create(
            actor=manager, title=f"Deal {i}", pipeline=pipeline, amount="100", contact=contact
        )
        for i in range(n)
    ]


def test_the_board_renders_columns_cards_and_totals(manager_client, manager, pipeline, stages):
    deals = _deals(manager, pipeline, 3)
    s.deal_create(actor=manager, title="Dollars", pipeline=pipeline, amount="7", currency="USD")
    s.deal_stage_change(actor=manager, deal=deals[0], stage=stages["Negotiation"])
    r = manager_client.get(reverse("sales:board"))
    html = r.content.decode()
    assert r.status_code == 200
    for stage in stages.values():
        assert f'data-stage-id="{stage.pk}" data-stage-kind="{stage.kind}"' in html
    for d in deals:
        assert f'data-deal-id="{d.pk}"' in html
    cols = r.context["columns"]
    new = next(c for c in cols if c.stage == stages["New"])
    assert new.count == 3
    assert sorted(new.totals, key=lambda t: t[1]) == [
        (Decimal("200.00"), "RUB"),
        (Decimal("7.00"), "USD"),
    ]
    assert 'id="lost-modal"' in html and 'name="lost_reason"' in html


def test_the_board_filters_by_owner(manager_client, manager, teammate, head, pipeline):
    _deals(manager, pipeline, 2)
    s.deal_create(actor=teammate, title="Teammate's", pipeline=pipeline)
    head_client = manager_client
    head_client.force_login(head)
    r = head_client.get(reverse("sales:board"), {"owner": manager.pk})
    assert sum(c.count for c in r.context["columns"]) == 2
    r = head_client.get(reverse("sales:board"))
    assert sum(c.count for c in r.context["columns"]) == 3


def test_the_board_htmx_request_gets_the_board_partial(manager_client, manager, pipeline):
    _deals(manager, pipeline, 1)
    r = manager_client.get(reverse("sales:board"), HTTP_HX_TARGET="board", **HTMX)
    html = r.content.decode()
    assert (
        r.status_code == 200 and html.lstrip().startswith('<div id="board"') and "<html" not in html
    )


def test_the_board_queries_do_not_grow_with_deals(
    manager_client, manager, pipeline, django_assert_num_queries
):
    _deals(manager, pipeline, 1)
    manager_client.get(reverse("sales:board"))  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as ctx:
        manager_client.get(reverse("sales:board"))
    few = len(ctx.captured_queries)
    _deals(manager, pipeline, 10)
    with django_assert_num_queries(few):
        manager_client.get(reverse("sales:board"))


def test_a_drop_moves_the_deal_via_htmx(manager_client, manager, pipeline, stages):
    deal = _deals(manager, pipeline, 1)[0]
    r = manager_client.post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Won"].pk}, **HTMX
    )
    assert r.status_code == 200 and json.loads(r.content)["ok"] is True
    deal.refresh_from_db()
    assert deal.stage == stages["Won"]
    assert Order.objects.filter(deal=deal).count() == 1
    assert DealStageChange.objects.filter(deal=deal, to_stage=stages["Won"]).count() == 1
    assert TimelineEntry.objects.filter(deal=deal, kind=TimelineKind.STAGE).count() == 1


def test_a_drop_on_lost_without_a_reason_is_refused(
    manager_client, manager, pipeline, stages, lost_reason
):
    deal = _deals(manager, pipeline, 1)[0]
    url = reverse("sales:deal_move", args=[deal.pk])
    r = manager_client.post(url, {"stage": stages["Lost"].pk}, **HTMX)
    assert r.status_code == 400 and "lost_reason" in json.loads(r.content)["errors"]
    deal.refresh_from_db()
    assert deal.stage == stages["New"]
    r = manager_client.post(
        url, {"stage": stages["Lost"].pk, "lost_reason": lost_reason.pk}, **HTMX
    )
    assert r.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == stages["Lost"] and deal.lost_reason == lost_reason


def test_a_stage_of_another_pipeline_is_refused_not_500(manager_client, manager, pipeline):
    deal = _deals(manager, pipeline, 1)[0]
    other = PipelineFactory()
    r = manager_client.post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": other.stages.first().pk}, **HTMX
    )
    assert r.status_code == 400 and "stage" in json.loads(r.content)["errors"]
    r = manager_client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": "nope"}, **HTMX)
    assert r.status_code == 400


def test_the_card_buttons_move_without_htmx(manager_client, manager, pipeline, stages):
    deal = _deals(manager, pipeline, 1)[0]
    r = manager_client.post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Negotiation"].pk}
    )
    assert r.status_code == 302 and r.url == reverse("sales:deal_detail", args=[deal.pk])
    deal.refresh_from_db()
    assert deal.stage == stages["Negotiation"]


def test_move_is_post_only_and_scoped(client, manager, outsider, pipeline, stages):
    deal = _deals(manager, pipeline, 1)[0]
    client.force_login(outsider)
    assert (
        client.post(
            reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Won"].pk}
        ).status_code
        == 404
    )
    client.force_login(manager)
    assert client.get(reverse("sales:deal_move", args=[deal.pk])).status_code == 405
    deal.refresh_from_db()
    assert deal.stage == stages["New"]


# --- deals ---------------------------------------------------------------------------


def test_it_creates_a_deal_with_a_preselected_contact(manager_client, manager, pipeline, contact):
    r = manager_client.get(reverse("sales:deal_create"), {"contact": contact.pk})
    assert r.status_code == 200 and r.context["form"].initial["contact"] == contact.pk
    r = manager_client.post(
        reverse("sales:deal_create"),
        {
            "title": "Pumps",
            "pipeline": pipeline.pk,
            "amount": "500",
            "currency": "RUB",
            "contact": contact.pk,
            "owner": manager.pk,
        },
    )
    deal = Deal.objects.get()
    assert r.status_code == 302 and deal.contact == contact and deal.amount == Decimal("500")


def test_the_deal_form_shows_errors(manager_client, manager, pipeline):
    other = PipelineFactory()
    r = manager_client.post(
        reverse("sales:deal_create"),
        {
            "title": "Pumps",
            "pipeline": pipeline.pk,
            "stage": other.stages.first().pk,
            "currency": "RUB",
            "owner": manager.pk,
        },
    )
    assert r.status_code == 200 and "another pipeline" in r.content.decode()
    assert Deal.objects.count() == 0


def test_it_edits_a_deal(manager_client, manager, deal):
    r = manager_client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        {"title": "Big pumps", "amount": "900", "currency": "RUB", "owner": manager.pk},
    )
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Big pumps" and deal.amount == Decimal("900")


def test_the_deal_card_shows_stages_lines_history_and_orders(manager_client, manager, deal, stages):
    product = ProductFactory(name="Pump P-100", price=Decimal("250"))
    r = manager_client.post(
        reverse("sales:deal_line_add", args=[deal.pk]),
        {"product": product.pk, "quantity": "2", "discount_percent": "0"},
    )
    assert r.status_code == 302
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    r = manager_client.get(reverse("sales:deal_detail", args=[deal.pk]))
    html = r.content.decode()
    assert r.status_code == 200
    assert "Pump P-100" in html and 'id="stage-path"' in html and "New → Won" in html
    assert Order.objects.get(deal=deal).number in html


def test_a_bad_line_shows_a_message(manager_client, deal):
    r = manager_client.post(
        reverse("sales:deal_line_add", args=[deal.pk]), {"quantity": "1"}, follow=True
    )
    assert "Choose a product or enter a name." in r.content.decode()
    assert deal.lines.count() == 0


def test_it_removes_a_line(manager_client, manager, deal):
    line = s.deal_line_add(actor=manager, deal=deal, name="Service", price="10")
    r = manager_client.post(reverse("sales:deal_line_remove", args=[deal.pk, line.pk]))
    assert r.status_code == 302 and deal.lines.count() == 0


def test_an_outsider_gets_404_on_a_deal(client, outsider, deal):
    client.force_login(outsider)
    for name in ("sales:deal_detail", "sales:deal_edit"):
        assert client.get(reverse(name, args=[deal.pk])).status_code == 404


def test_the_deal_list_renders_with_constant_queries(
    manager_client, manager, pipeline, django_assert_num_queries
):
    _deals(manager, pipeline, 1)
    manager_client.get(reverse("sales:deal_list"))
    with CaptureQueriesContext(connection) as ctx:
        r = manager_client.get(reverse("sales:deal_list"))
    assert r.status_code == 200 and "Deal 0" in r.content.decode()
    _deals(manager, pipeline, 10)
    with django_assert_num_queries(len(ctx.captured_queries)):
        manager_client.get(reverse("sales:deal_list"))


# --- orders and products -------------------------------------------------------------


def test_it_creates_an_order_with_lines(manager_client, manager, contact):
    product = ProductFactory(price=Decimal("40"))
    r = manager_client.get(reverse("sales:order_create"), {"contact": contact.pk})
    assert r.status_code == 200
    data = {
        "contact": contact.pk,
        "currency": "RUB",
        "status": "new",
        "owner": manager.pk,
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": product.pk,
        "lines-0-quantity": "2",
        "lines-1-name": "Delivery",
        "lines-1-quantity": "1",
        "lines-1-price": "10",
    }
    r = manager_client.post(reverse("sales:order_create"), data)
    order = Order.objects.get()
    assert r.status_code == 302 and order.amount == Decimal("90.00") and order.lines.count() == 2
    r = manager_client.get(reverse("sales:order_detail", args=[order.pk]))
    assert r.status_code == 200 and "Delivery" in r.content.decode()
    assert manager_client.get(reverse("sales:order_list")).status_code == 200


def test_an_order_without_client_shows_errors(manager_client, manager):
    data = {
        "currency": "RUB",
        "status": "new",
        "owner": manager.pk,
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    r = manager_client.post(reverse("sales:order_create"), data)
    assert r.status_code == 200 and "Choose a contact or a company." in r.content.decode()
    assert Order.objects.count() == 0


def test_it_cancels_an_order(manager_client, manager, contact):
    order = s.order_create(actor=manager, contact=contact, amount=Decimal("10"))
    r = manager_client.post(reverse("sales:order_cancel", args=[order.pk]))
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_an_outsider_gets_404_on_an_order(client, outsider, manager, contact):
    order = s.order_create(actor=manager, contact=contact, amount=Decimal("10"))
    client.force_login(outsider)
    assert client.get(reverse("sales:order_detail", args=[order.pk])).status_code == 404
    assert client.post(reverse("sales:order_cancel", args=[order.pk])).status_code == 404


def test_products_list_create_edit(manager_client, admin):
    # The catalogue is the Administrator's (products create/edit); managers only read it.
    data = {"name": "Pump", "unit": "pcs", "price": "10", "currency": "RUB", "is_active": "on"}
    assert manager_client.post(reverse("sales:product_create"), data).status_code == 403
    admin_client = Client()
    admin_client.force_login(admin)
    r = admin_client.post(reverse("sales:product_create"), data)
    assert r.status_code == 302
    r = admin_client.post(
        reverse("sales:product_create"),
        {"name": "", "unit": "pcs", "price": "-1", "currency": "XXX"},
    )
    assert r.status_code == 200
    r = manager_client.get(reverse("sales:product_list"))
    assert r.status_code == 200 and "Pump" in r.content.decode()


def test_pages_need_login(client, pipeline):
    assert client.get(reverse("sales:board")).status_code == 302


@pytest.mark.parametrize("name", ["sales:lead_list", "sales:order_list"])
def test_list_pages_have_constant_queries(
    manager_client, manager, contact, name, django_assert_num_queries
):
    def add(n):
        for i in range(n):
            s.lead_create(actor=manager, title=f"Lead {i}", tags=["x"])
            s.order_create(actor=manager, contact=contact, amount=Decimal("5"))

    add(1)
    manager_client.get(reverse(name))
    with CaptureQueriesContext(connection) as ctx:
        assert manager_client.get(reverse(name)).status_code == 200
    add(10)
    with django_assert_num_queries(len(ctx.captured_queries)):
        manager_client.get(reverse(name))


def test_the_deal_form_preselects_a_company(manager_client, manager):
    from tests.factories import CompanyFactory

    company = CompanyFactory(owner=manager)
    r = manager_client.get(reverse("sales:deal_create"), {"company": company.pk})
    assert r.status_code == 200 and r.context["form"].initial["company"] == company.pk


def test_the_deal_form_has_custom_fields_with_errors(manager_client, manager, pipeline):
    from svyaz.core.models import CustomField

    CustomField.objects.create(
        entity="deal",
        code="region",
        label="Region",
        field_type="choice",
        choices=["North", "South"],
        required=True,
    )
    base = {"title": "Pumps", "pipeline": pipeline.pk, "currency": "RUB", "owner": manager.pk}
    r = manager_client.post(reverse("sales:deal_create"), base)
    assert r.status_code == 200 and "custom_region" in r.context["form"].errors
    r = manager_client.post(reverse("sales:deal_create"), {**base, "custom_region": "North"})
    assert r.status_code == 302 and Deal.objects.get().custom == {"region": "North"}
