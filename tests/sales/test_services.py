from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from svyaz.contacts.models import ClientSummary, Company, Contact, LifecycleStatus
from svyaz.contacts.services import company_create, contact_create
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.sales import services as s
from svyaz.sales.models import (
    Deal,
    DealStageChange,
    Lead,
    LeadStatus,
    Order,
    OrderStatus,
    PriceList,
    PriceListItem,
)
from tests.factories import PipelineFactory, ProductFactory

pytestmark = pytest.mark.django_db


# --- leads ---------------------------------------------------------------------------


def test_it_creates_a_lead_with_a_normalized_phone(manager):
    lead = s.lead_create(
        actor=manager, title="Need pumps", first_name="Ivan", phone="8 (916) 123-45-67"
    )
    assert lead.phone == "+79161234567"
    assert lead.owner == manager and lead.department_id == manager.department_id


def test_it_refuses_a_lead_without_title_or_with_a_bad_phone(manager):
    with pytest.raises(ValidationError) as exc:
        s.lead_create(actor=manager, title="", phone="abc")
    assert set(exc.value.message_dict) >= {"title", "phone"}
    assert Lead.objects.count() == 0


def test_it_updates_a_lead_with_a_timeline_row(manager):
    lead = s.lead_create(actor=manager, title="Need pumps")
    s.lead_update(actor=manager, lead=lead, data={"title": "Need 3 pumps"})
    lead.refresh_from_db()
    assert lead.title == "Need 3 pumps"
    assert (
        TimelineEntry.objects.filter(
            object_type="lead", object_id=lead.pk, kind=TimelineKind.CHANGE
        ).count()
        == 1
    )


def test_it_converts_a_lead_into_contact_company_and_deal(manager, pipeline, stages):
    lead = s.lead_create(
        actor=manager,
        title="Pumps",
        first_name="Ivan",
        last_name="Petrov",
        phone="+7 916 123 45 67",
        email="ivan@example.com",
        company_name="Romashka",
    )
    contact, company, deal = s.lead_convert(actor=manager, lead=lead, amount=Decimal("5000"))
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at
    assert (lead.contact, lead.company, lead.deal) == (contact, company, deal)
    assert contact.companies.filter(pk=company.pk).exists()
    assert deal.stage == stages["New"] and deal.amount == Decimal("5000")
    assert deal.contact == contact and deal.company == company
    assert contact.summary.status == LifecycleStatus.PROSPECT


def test_it_links_an_existing_contact_by_phone_in_another_format(manager, pipeline):
    existing = contact_create(actor=manager, first_name="Ivan", phones=["+79161234567"])
    firm = company_create(actor=manager, name="Romashka LLC")
    lead = Lead.objects.create(
        title="Again",
        first_name="Ivan",
        phone="8 916 123-45-67",
        company_name="romashka llc",
        owner=manager,
    )
    contact, company, deal = s.lead_convert(actor=manager, lead=lead)
    assert contact == existing and company == firm
    assert Contact.objects.count() == 1 and Company.objects.count() == 1


def test_it_refuses_to_convert_twice(manager, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan")
    s.lead_convert(actor=manager, lead=lead)
    with pytest.raises(ValidationError, match="already been converted"):
        s.lead_convert(actor=manager, lead=lead)
    assert Contact.objects.count() == 1 and Deal.objects.count() == 1


def test_it_converts_without_a_deal(manager, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", email="a@b.example")
    contact, company, deal = s.lead_convert(actor=manager, lead=lead, create_deal=False)
    assert deal is None and company is None and contact.emails.get().email == "a@b.example"


def test_a_failed_conversion_writes_nothing(manager, pipeline):
    lead = s.lead_create(actor=manager, title="Pumps", first_name="Ivan", company_name="Romashka")
    with pytest.raises(ValidationError):
        s.lead_convert(actor=manager, lead=lead, amount="lots")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert (
        Contact.objects.count() == 0 and Company.objects.count() == 0 and Deal.objects.count() == 0
    )


# --- deals and stages ----------------------------------------------------------------


def test_it_creates_a_deal_in_the_first_open_stage(deal, stages):
    assert deal.stage == stages["New"]
    assert DealStageChange.objects.filter(deal=deal).count() == 1
    assert TimelineEntry.objects.filter(deal=deal, kind=TimelineKind.DEAL).count() == 1


def test_it_refuses_a_deal_with_bad_input(manager, pipeline, stages):
    other = PipelineFactory()
    with pytest.raises(ValidationError) as exc:
        s.deal_create(
            actor=manager,
            title="",
            pipeline=pipeline,
            stage=other.stages.first(),
            amount="-5",
            currency="XXX",
        )
    assert set(exc.value.message_dict) >= {"title", "stage", "currency"}
    assert Deal.objects.count() == 0


def test_deal_update_cannot_set_the_stage(manager, deal, stages):
    with pytest.raises(ValidationError) as exc:
        s.deal_update(actor=manager, deal=deal, data={"stage": stages["Won"]})
    assert "stage" in exc.value.message_dict


def test_deal_update_writes_one_change_row(manager, deal):
    s.deal_update(actor=manager, deal=deal, data={"title": "Big pumps", "amount": "2000"})
    deal.refresh_from_db()
    assert deal.title == "Big pumps" and deal.amount == Decimal("2000")
    rows = TimelineEntry.objects.filter(deal=deal, kind=TimelineKind.CHANGE)
    assert rows.count() == 1 and len(rows.get().data["changes"]) == 2


def test_it_moves_a_deal_and_records_it_once(manager, deal, stages):
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        s.deal_stage_change(actor=manager, deal=deal, stage=stages["Negotiation"])
    change = DealStageChange.objects.filter(deal=deal, from_stage=stages["New"]).get()
    assert change.to_stage == stages["Negotiation"] and change.seconds_in_from >= 7200
    assert (
        TimelineEntry.objects.filter(deal=deal, kind=TimelineKind.STAGE).get().title
        == "Stage: New → Negotiation"
    )
    # the same stage again changes nothing
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Negotiation"])
    assert DealStageChange.objects.filter(deal=deal).count() == 2


def test_it_refuses_a_stage_of_another_pipeline(manager, deal):
    other = PipelineFactory()
    with pytest.raises(ValidationError) as exc:
        s.deal_stage_change(actor=manager, deal=deal, stage=other.stages.first())
    assert "stage" in exc.value.message_dict
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_lost_needs_a_reason(manager, deal, stages, lost_reason):
    with pytest.raises(ValidationError) as exc:
        s.deal_stage_change(actor=manager, deal=deal, stage=stages["Lost"])
    assert "lost_reason" in exc.value.message_dict
    deal.refresh_from_db()
    assert deal.stage == stages["New"]
    s.deal_stage_change(
        actor=manager, deal=deal, stage=stages["Lost"], lost_reason=lost_reason, lost_comment="x"
    )
    deal.refresh_from_db()
    assert deal.lost_reason == lost_reason and deal.closed_at is not None
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["New"])
    deal.refresh_from_db()
    assert deal.closed_at is None and deal.lost_reason is None


def test_won_creates_an_order_exactly_once(manager, deal, stages, contact):
    product = ProductFactory(price=Decimal("100"))
    s.deal_line_add(actor=manager, deal=deal, product=product, quantity=3, discount_percent=10)
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    order = Order.objects.get(deal=deal)
    assert order.amount == Decimal("270.00") and order.contact == contact
    assert [(ln.name, ln.quantity) for ln in order.lines.all()] == [(product.name, Decimal("3"))]
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Negotiation"])
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    assert Order.objects.filter(deal=deal).count() == 1
    assert TimelineEntry.objects.filter(deal=deal, kind=TimelineKind.ORDER).count() == 1
    assert ClientSummary.objects.get(contact=contact).status == LifecycleStatus.CUSTOMER


def test_a_repeat_deal_is_marked(manager, pipeline, contact):
    s.order_create(actor=manager, contact=contact, amount=Decimal("10"))
    deal = s.deal_create(actor=manager, title="Again", pipeline=pipeline, contact=contact)
    assert deal.is_repeat


# --- lines ---------------------------------------------------------------------------


def test_lines_take_the_price_list_price_and_recompute_the_amount(manager, deal):
    product = ProductFactory(price=Decimal("100"))
    pl = PriceList.objects.create(name="Dealers")
    PriceListItem.objects.create(price_list=pl, product=product, price=Decimal("80"))
    s.deal_update(actor=manager, deal=deal, data={"price_list": pl})
    line = s.deal_line_add(actor=manager, deal=deal, product=product, quantity=2)
    deal.refresh_from_db()
    assert line.price == Decimal("80") and deal.amount == Decimal("160.00")
    s.deal_line_update(actor=manager, line=line, data={"quantity": "3"})
    deal.refresh_from_db()
    assert deal.amount == Decimal("240.00")
    with pytest.raises(ValidationError):
        s.deal_update(actor=manager, deal=deal, data={"amount": "5"})
    s.deal_line_remove(actor=manager, line=line)
    assert deal.lines.count() == 0


def test_a_bad_line_is_refused(manager, deal):
    with pytest.raises(ValidationError) as exc:
        s.deal_line_add(actor=manager, deal=deal, name="", quantity="0")
    assert "product" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        s.deal_line_add(actor=manager, deal=deal, name="Service", price="10", quantity="0")
    assert "quantity" in exc.value.message_dict
    assert deal.lines.count() == 0


# --- orders --------------------------------------------------------------------------


def test_an_order_needs_a_client_and_an_amount(manager):
    with pytest.raises(ValidationError) as exc:
        s.order_create(actor=manager)
    assert set(exc.value.message_dict) == {"contact", "amount"}
    assert Order.objects.count() == 0


def test_an_order_amount_is_the_sum_of_its_lines(manager, contact):
    product = ProductFactory(price=Decimal("50"))
    order = s.order_create(
        actor=manager,
        contact=contact,
        lines=[{"product": product, "quantity": 2}, {"name": "Delivery", "price": "15.5"}],
    )
    assert order.amount == Decimal("115.50") and order.lines.count() == 2 and order.number


def test_a_cancelled_order_does_not_count(manager, contact):
    order = s.order_create(actor=manager, contact=contact, amount=Decimal("100"))
    assert contact.summary.orders_count == 1
    s.order_cancel(actor=manager, order=order)
    summary = ClientSummary.objects.get(contact=contact)
    assert summary.orders_count == 0 and summary.status == LifecycleStatus.LEAD
    with pytest.raises(ValidationError):
        s.order_cancel(actor=manager, order=order)


def test_order_update_changes_fields(manager, contact):
    order = s.order_create(actor=manager, contact=contact, amount=Decimal("100"))
    s.order_update(actor=manager, order=order, data={"amount": "150", "status": OrderStatus.PAID})
    assert ClientSummary.objects.get(contact=contact).revenue == Decimal("150")
    with pytest.raises(ValidationError):
        s.order_update(actor=manager, order=order, data={"contact": None})


# --- lifecycle -----------------------------------------------------------------------


def test_the_client_walks_the_lifecycle(manager, pipeline, stages, contact, settings):
    settings.SVYAZ_INACTIVE_AFTER_DAYS = 30
    assert s.client_summary_refresh(contact=contact).status == LifecycleStatus.LEAD
    deal = s.deal_create(
        actor=manager, title="First", pipeline=pipeline, contact=contact, amount="100"
    )
    summary = ClientSummary.objects.get(contact=contact)
    assert summary.status == LifecycleStatus.PROSPECT and summary.open_deals == 1
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    summary.refresh_from_db()
    assert (summary.status, summary.orders_count, summary.open_deals) == (
        LifecycleStatus.CUSTOMER,
        1,
        0,
    )
    s.order_create(actor=manager, contact=contact, amount=Decimal("300"))
    summary.refresh_from_db()
    assert summary.status == LifecycleStatus.REPEAT
    assert summary.revenue == Decimal("400") and summary.average_check == Decimal("200")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert s.client_summary_refresh(contact=contact).status == LifecycleStatus.INACTIVE


def test_rebuild_computes_every_client_in_constant_queries(
    manager, pipeline, django_assert_max_num_queries
):
    from tests.factories import CompanyFactory, ContactFactory

    contacts = ContactFactory.create_batch(5, owner=manager)
    company = CompanyFactory(owner=manager)
    for c in contacts[:3]:
        Order.objects.create(contact=c, company=company, amount=Decimal("10"), owner=manager)
    Order.objects.create(contact=contacts[0], amount=Decimal("30"), currency="USD", owner=manager)
    with django_assert_max_num_queries(
        14
    ):  # per side: ids, orders, deals, upsert (+ savepoints), end
        assert s.client_summaries_rebuild() == 6
    first = ClientSummary.objects.get(contact=contacts[0])
    # revenue in the base currency only; purchases count every currency
    assert (first.orders_count, first.revenue, first.status) == (
        2,
        Decimal("10"),
        LifecycleStatus.REPEAT,
    )
    assert ClientSummary.objects.get(company=company).orders_count == 3
    assert ClientSummary.objects.get(contact=contacts[4]).status == LifecycleStatus.LEAD
    ContactFactory.create_batch(20, owner=manager)
    with django_assert_max_num_queries(14):
        assert s.client_summaries_rebuild() == 26
    assert s.client_summaries_rebuild(chunk=4) == 26
    assert ClientSummary.objects.count() == 26


def test_conversion_matches_by_email_and_company_by_inn(manager, pipeline):
    existing = contact_create(actor=manager, first_name="Olga", emails=["olga@example.com"])
    firm = company_create(actor=manager, name="Vector", inn="7707083893")
    lead = s.lead_create(
        actor=manager,
        title="Again",
        first_name="Olga",
        email="OLGA@example.com",
        company_name="Vector Group",
        company_inn="7707083893",
    )
    contact, company, _deal = s.lead_convert(actor=manager, lead=lead)
    assert (contact, company) == (existing, firm)
    assert Contact.objects.count() == 1 and Company.objects.count() == 1


def test_a_stage_change_emits_one_event(manager, deal, stages, django_capture_on_commit_callbacks):
    from svyaz.core.events import _subscribers, subscriber

    seen = []

    @subscriber("deal.stage_changed")
    def listen(name, **payload):
        seen.append(payload)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    finally:
        _subscribers["deal.stage_changed"].remove(listen)
    assert seen == [
        {"pk": deal.pk, "from_stage": stages["New"].pk, "to_stage": stages["Won"].pk, "kind": "won"}
    ]


def test_an_empty_owner_keeps_the_deal_owner(manager, deal):
    s.deal_update(actor=manager, deal=deal, data={"owner": None, "title": "Kept"})
    deal.refresh_from_db()
    assert deal.owner == manager


def test_deleting_a_deal_refreshes_the_client(manager, deal, contact):
    assert ClientSummary.objects.get(contact=contact).status == LifecycleStatus.PROSPECT
    s.deal_delete(actor=manager, deal=deal)
    assert ClientSummary.objects.get(contact=contact).status == LifecycleStatus.LEAD


def test_a_won_deal_without_a_client_creates_no_order(manager, pipeline, stages):
    deal = s.deal_create(actor=manager, title="Anonymous", pipeline=pipeline, amount="10")
    s.deal_stage_change(actor=manager, deal=deal, stage=stages["Won"])
    assert not Order.objects.exists()
