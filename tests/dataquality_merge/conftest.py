"""A rich pair of duplicate contacts (and of companies): every kind of related row, on
both records, so that a merge has something of each kind to move, to union and to leave.
`snapshot()` captures every related row (found the same way the merge finds them) for the
"whole history intact" comparisons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from svyaz.activities.services import activity_log
from svyaz.contacts.services import company_create, contact_create, contact_link_company
from svyaz.core.models import CustomField, CustomFieldType
from svyaz.core.services import record_soft_delete
from svyaz.dataquality.merge import ENTITY_MODELS, REBUILD, relation_plan
from svyaz.dataquality.models import ExternalKey
from svyaz.followups.services import followup_create
from svyaz.intake.models import CallEvent, LeadIntake, TelephonyProvider
from svyaz.sales.models import Lead
from svyaz.sales.services import deal_create, lead_create, order_create


def _plain(value):
    if isinstance(value, dt.date | dt.datetime | Decimal):
        return str(value)
    return value


def snapshot(entity: str, ids: list[int]) -> dict:
    """Every row related to the records `ids` (all columns), and the records themselves.

    Left out: the timeline entries a merge or an undo writes about itself (data "merge"),
    when a client summary was refreshed, and the records' own `updated_at`."""
    out: dict = {}
    for rel in relation_plan(entity):
        qs = rel.model._base_manager.filter(**{f"{rel.field.attname}__in": ids}, **rel.filters)
        rows = []
        for row in qs.order_by("pk"):
            values = {f.attname: _plain(getattr(row, f.attname)) for f in row._meta.concrete_fields}
            if isinstance(values.get("data"), dict) and "merge" in values["data"]:
                continue
            if rel.how == REBUILD:
                values.pop("refreshed_at", None)
                values.pop("id", None)
            rows.append(values)
        out[rel.label] = rows
    model = ENTITY_MODELS[entity]
    for obj in model.all_objects.filter(pk__in=ids).order_by("pk"):
        values = {f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}
        values.pop("updated_at")
        out[f"record {obj.pk}"] = values
    return out


def rows_of(rel_label: str, entity: str, pk: int) -> int:
    for rel in relation_plan(entity):
        if rel.label == rel_label:
            return rel.model._base_manager.filter(**{rel.field.attname: pk}, **rel.filters).count()
    raise KeyError(rel_label)


@pytest.fixture
def custom_fields(db):
    CustomField.objects.create(
        entity="contact", code="segment", label="Segment", field_type=CustomFieldType.TEXT
    )
    CustomField.objects.create(
        entity="contact", code="vip", label="VIP", field_type=CustomFieldType.BOOLEAN
    )
    CustomField.objects.create(
        entity="company", code="tier", label="Tier", field_type=CustomFieldType.TEXT
    )


@pytest.fixture
def provider(db):
    return TelephonyProvider.objects.create(name="pbx", secret="s3cret")


@pytest.fixture
def pair(manager, pipeline, custom_fields, provider):
    """Contacts A (to keep) and B (its duplicate), both the manager's, each with a bit of
    everything; B also shares a phone, an email, an address, a tag and a company with A."""
    romashka = company_create(actor=manager, name="Romashka")
    vasilek = company_create(actor=manager, name="Vasilek")
    a = contact_create(
        actor=manager,
        first_name="Ivan",
        last_name="Petrov",
        job_title="Manager",
        phones=["+7 916 123-45-67"],
        emails=["ivan@example.com"],
        company=romashka,
        role="CEO",
        tags=["vip"],
        custom={"segment": "retail"},
        addresses=[{"city": "Moscow", "street": "Tverskaya 1"}],
    )
    b = contact_create(
        actor=manager,
        first_name="Ivan",
        last_name="Petrov",
        middle_name="Sergeevich",
        job_title="Director",
        birthday=dt.date(1980, 5, 17),
        phones=["+7 903 000-00-01", "8 916 123 45 67"],
        emails=["IVAN@example.com", "ivan.p@mail.ru"],
        company=romashka,
        role="Owner",
        tags=["VIP", "moscow"],
        custom={"segment": "wholesale", "vip": True},
        addresses=[
            {"city": "Moscow", "street": "Tverskaya 1"},
            {"city": "Tula", "street": "Lenina 5"},
        ],
    )
    contact_link_company(actor=manager, contact=b, company=vasilek, role="Advisor")
    for contact, tag in ((a, "a"), (b, "b")):
        deal = deal_create(actor=manager, title=f"Deal {tag}", pipeline=pipeline, contact=contact)
        activity_log(actor=manager, kind="call", direction="out", contact=contact, deal=deal)
        activity_log(actor=manager, kind="note", contact=contact, subject=f"Note {tag}")
        order_create(actor=manager, contact=contact, amount=Decimal("1500.00"), number=f"N-{tag}")
        followup_create(
            actor=manager,
            title=f"Call back {tag}",
            due_at=timezone.now() + dt.timedelta(days=1),
            contact=contact,
        )
    lead = lead_create(actor=manager, title="Request from the site")
    Lead.objects.filter(pk=lead.pk).update(contact=b)
    LeadIntake.objects.create(
        lead=lead, channel="phone", received_at=timezone.now(), duplicate_of=b
    )
    CallEvent.objects.create(
        provider=provider,
        event_id="call-1",
        direction="in",
        status="answered",
        started_at=timezone.now(),
        contact=b,
    )
    ExternalKey.objects.create(model="contacts.contact", external_id="OLD-7", object_id=b.pk)
    # In the recycle bin already: it moves too, so restoring it later lands on the survivor.
    gone = activity_log(actor=manager, kind="note", contact=b, subject="Deleted note")
    record_soft_delete(actor=manager, obj=gone)
    return {"a": a, "b": b, "romashka": romashka, "vasilek": vasilek, "lead": lead, "gone": gone}


@pytest.fixture
def company_pair(manager, pipeline, custom_fields):
    """Companies A and B with contacts (one in both), deals, orders, activities, phones."""
    a = company_create(
        actor=manager,
        name="Romashka",
        inn="7707083893",
        phones=["+7 495 111-22-33"],
        tags=["key"],
        custom={"tier": "gold"},
    )
    b = company_create(
        actor=manager,
        name="Romashka LLC",
        legal_name="OOO Romashka",
        website="https://romashka.ru",
        phones=["8 495 111 22 33", "+7 495 999-00-00"],
        emails=["info@romashka.ru"],
        tags=["key", "supplier"],
        custom={"tier": "silver"},
    )
    both = contact_create(actor=manager, first_name="Olga", last_name="Sidorova", company=a)
    contact_link_company(actor=manager, contact=both, company=b, role="Buyer")
    only_b = contact_create(actor=manager, first_name="Pavel", last_name="Orlov", company=b)
    for company, tag in ((a, "a"), (b, "b")):
        deal_create(actor=manager, title=f"Deal {tag}", pipeline=pipeline, company=company)
        order_create(actor=manager, company=company, amount=Decimal("900.00"), number=f"C-{tag}")
        activity_log(actor=manager, kind="meeting", company=company, subject=f"Visit {tag}")
    return {"a": a, "b": b, "both": both, "only_b": only_b}
