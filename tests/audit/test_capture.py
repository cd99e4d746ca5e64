"""Exactly one audit row per changed field per save; create, delete, restore and purge;
tags; bulk writes that send no signals."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from svyaz.audit.context import audit_source
from svyaz.audit.models import AuditEntry
from svyaz.audit.services import record_bulk, record_event
from svyaz.contacts.services import company_create, contact_create, contact_update
from svyaz.core import recycle
from svyaz.core.models import CustomField
from svyaz.core.services import record_add_tag, record_soft_delete, tag_get_or_create
from svyaz.sales import services as sales
from svyaz.sales.models import Deal, Lead, Order, OrderLine

pytestmark = pytest.mark.django_db


def _deal(actor, pipeline, **kw):
    return sales.deal_create(
        actor=actor, title="Boiler", pipeline=pipeline, amount=Decimal("100"), **kw
    )


def test_changing_two_fields_writes_two_rows(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    sales.deal_update(actor=manager, deal=deal, data={"title": "Boiler 2", "amount": "250"})
    rows = mark.rows()
    assert [(r.action, r.field, r.old_value, r.new_value) for r in rows] == [
        ("update", "title", "Boiler", "Boiler 2"),
        ("update", "amount", "100.00", "250.00"),
    ]
    assert {r.object_id for r in rows} == {deal.pk}
    assert rows[0].content_type == ContentType.objects.get_for_model(Deal)
    assert rows[0].object_repr == "Boiler 2"


def test_a_save_without_a_change_writes_nothing(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    sales.deal_update(actor=manager, deal=deal, data={"title": "Boiler", "amount": "100.00"})
    deal.save()
    Deal.objects.get(pk=deal.pk).save()
    assert mark.rows() == []


def test_the_same_value_in_another_type_is_no_change(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    deal.amount = "100"  # a string equal to the stored Decimal("100.00")
    deal.probability = "40"
    deal.save()
    assert mark.fields() == ["probability"]


def test_update_fields_reads_and_compares_only_those_columns(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    deal.title = "Renamed"
    deal.amount = Decimal("999")
    with CaptureQueriesContext(connection) as ctx:
        deal.save(update_fields=["title", "updated_at"])
    assert mark.fields() == ["title"]
    before = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(before) == 1 and '"amount"' not in before[0]


def test_only_timestamps_saved_reads_and_writes_nothing(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    with CaptureQueriesContext(connection) as ctx:
        deal.save(update_fields=["updated_at"])
    assert mark.rows() == []
    assert len(ctx.captured_queries) == 1  # the UPDATE itself


def test_a_stage_change_reads_like_old_to_new_with_names(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    negotiation = pipeline.stages.get(name="Negotiation")
    sales.deal_stage_change(actor=manager, deal=deal, stage=negotiation)
    mark = since()
    sales.deal_stage_change(actor=manager, deal=deal, stage=pipeline.stages.get(name="Won"))
    stage = mark.rows(field="stage")
    assert len(stage) == 1
    assert (stage[0].old_display, stage[0].new_display) == ("Negotiation", "Won")
    assert stage[0].old_value == str(negotiation.pk)
    # closed_at is set by the move and recorded; stage_changed_at (derived) is not.
    assert "closed_at" in mark.fields() and "stage_changed_at" not in mark.fields()


def test_create_writes_one_row_per_non_empty_field(manager, since):
    mark = since()
    contact = contact_create(
        actor=manager, first_name="Olga", last_name="Sokolova", phones=["+79161234567"]
    )
    rows = mark.rows(object_id=contact.pk, content_type__model="contact")
    assert {r.action for r in rows} == {"create"}
    fields = [r.field for r in rows]
    assert {"first_name", "last_name", "owner", "department", "phones"} <= set(fields)
    assert len(fields) == len(set(fields))  # one row per field
    # empty fields and bookkeeping columns are not rows
    assert not {"middle_name", "birthday", "created_at", "updated_at", "full_name"} & set(fields)
    owner = next(r for r in rows if r.field == "owner")
    assert owner.old_value is None and owner.new_value == str(manager.pk)
    assert owner.new_display == "Anna Petrova"
    phones = next(r for r in rows if r.field == "phones")
    assert json.loads(phones.new_value) == ["+79161234567"]


def test_custom_fields_get_one_row_per_changed_key(manager, since):
    CustomField.objects.create(entity="contact", code="size", label="Size", field_type="text")
    CustomField.objects.create(entity="contact", code="vip", label="VIP", field_type="boolean")
    contact = contact_create(actor=manager, first_name="Olga", custom={"size": "S"})
    mark = since()
    contact_update(actor=manager, contact=contact, data={"custom": {"size": "XL", "vip": True}})
    rows = mark.rows(content_type__model="contact")
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("custom.size", "S", "XL"),
        ("custom.vip", None, "true"),
    ]


def test_phones_and_emails_are_fields_of_their_contact(manager, since):
    contact = contact_create(actor=manager, first_name="Olga", phones=["+79161234567"])
    mark = since()
    contact_update(actor=manager, contact=contact, data={"phones": ["+79031234567"]})
    rows = mark.rows()
    assert [(r.field, json.loads(r.old_value), json.loads(r.new_value)) for r in rows] == [
        ("phones", ["+79161234567"], ["+79031234567"])
    ]


def test_soft_delete_restore_and_purge(manager, pipeline, since):
    company = company_create(actor=manager, name="Vector")
    deal = _deal(manager, pipeline, company=company)
    mark = since()
    record_soft_delete(actor=manager, obj=company)
    deleted = mark.rows(action="delete")
    # the company and, through the cascade (a bulk update), its deal
    assert {(r.content_type.model, r.object_id) for r in deleted} == {
        ("company", company.pk),
        ("deal", deal.pk),
    }
    assert all(r.field == "" for r in deleted)
    assert not mark.rows(action="update")  # deleted_at / updated_at are not field rows

    mark = since()
    recycle.record_restore(actor=manager, obj=company)
    restored = mark.rows(action="restore")
    assert {(r.content_type.model, r.object_id) for r in restored} == {
        ("company", company.pk),
        ("deal", deal.pk),
    }

    record_soft_delete(actor=manager, obj=company)
    mark = since()
    assert recycle.recycle_bin_purge(now=timezone.now() + timedelta(days=31)) == 2
    purged = mark.rows(action="purge")
    assert {(r.content_type.model, r.object_id) for r in purged} == {
        ("company", company.pk),
        ("deal", deal.pk),
    }
    snapshot = json.loads(next(r for r in purged if r.content_type.model == "company").old_value)
    assert snapshot["name"] == "Vector"
    # the rows outlive the records
    assert AuditEntry.objects.filter(object_id=company.pk, content_type__model="company").count()


def test_hard_delete_of_a_record_without_recycle_bin_is_a_delete(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    line = sales.deal_line_add(actor=manager, deal=deal, name="Pump", price=Decimal("10"))
    pk, mark = line.pk, since()
    sales.deal_line_remove(actor=manager, line=line)
    rows = mark.rows(content_type__model="dealline")
    assert [(r.action, r.object_id) for r in rows] == [("delete", pk)]
    assert json.loads(rows[0].old_value)["name"] == "Pump"


def test_tags_added_and_removed(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    hot = tag_get_or_create(name="hot")
    mark = since()
    record_add_tag(actor=manager, obj=deal, tag=hot)
    rows = mark.rows(field="tags")
    assert [(json.loads(r.old_value), json.loads(r.new_value)) for r in rows] == [([], ["hot"])]
    mark = since()
    record_add_tag(actor=manager, obj=deal, tag=hot)  # already there: no change
    assert mark.rows() == []
    deal.tags.add(tag_get_or_create(name="vip"))
    deal.tags.remove(hot)
    deal.tags.clear()
    rows = mark.rows(field="tags")
    assert [(json.loads(r.old_value), json.loads(r.new_value)) for r in rows] == [
        (["hot"], ["hot", "vip"]),
        (["hot", "vip"], ["vip"]),
        (["vip"], []),
    ]


def test_tags_added_from_the_tag_side(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    hot = tag_get_or_create(name="hot")
    mark = since()
    hot.deals.add(deal)
    rows = mark.rows(field="tags")
    assert [(r.object_id, r.new_value) for r in rows] == [(deal.pk, '["hot"]')]


def test_role_changes_of_a_user_are_recorded(manager, since):
    from svyaz.accounts.roles import ensure_default_roles

    roles = ensure_default_roles()
    mark = since()
    manager.roles.add(roles["head_of_sales"])
    manager.is_staff = True
    manager.save()
    rows = mark.rows(content_type__model="user", object_id=manager.pk)
    assert [r.field for r in rows] == ["roles", "is_staff"]


def test_password_changes_are_recorded_without_the_hash(manager, since):
    mark = since()
    manager.set_password("a new secret")
    manager.save()
    (row,) = mark.rows()
    assert (row.field, row.old_value, row.new_value) == ("password", "***", "***")


def test_login_bookkeeping_is_not_audited(client, manager, since):
    mark = since()
    client.force_login(manager)  # updates last_login
    assert mark.rows() == []


def test_order_lines_written_in_bulk_are_recorded(manager, pipeline, since):
    contact = contact_create(actor=manager, first_name="Olga")
    mark = since()
    order = sales.order_create(
        actor=manager,
        contact=contact,
        lines=[{"name": "Pump", "quantity": 2, "price": Decimal("5")}],
    )
    line = OrderLine.objects.get(order=order)
    rows = mark.rows(content_type__model="orderline")
    assert {r.object_id for r in rows} == {line.pk}
    assert {r.field for r in rows} >= {"order", "name", "quantity", "price"}
    assert next(r for r in rows if r.field == "order").new_display == str(order)
    assert mark.rows(content_type__model="order", field="amount")


def test_record_bulk_update_writes_only_changed_values_in_one_insert(manager, pipeline, since):
    deals = [_deal(manager, pipeline) for _ in range(3)]
    deals[0].probability = 30
    deals[0].save()
    mark = since()
    Deal.objects.filter(pk__in=[d.pk for d in deals]).update(probability=30)
    with CaptureQueriesContext(connection) as ctx:
        written = record_bulk(deals, changes={"probability": 30})
    assert written == 2
    assert len([q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]) == 1
    assert {r.object_id for r in mark.rows()} == {deals[1].pk, deals[2].pk}


def test_record_bulk_ignores_models_the_audit_does_not_follow(manager):
    from svyaz.core.models import SavedView

    view = SavedView.objects.create(user=manager, entity="deal", name="x")
    assert record_bulk([view], action="delete") == 0


def test_intake_linking_an_existing_contact_is_recorded(manager, since):
    from svyaz.intake.services import intake_lead_create

    existing = contact_create(actor=manager, first_name="Olga", phones=["+79161234567"])
    mark = since()
    lead = intake_lead_create(
        channel="phone",
        source="call",
        received_at=timezone.now(),
        title="Call",
        fields={"phone": "+79161234567"},
    )
    link = mark.rows(content_type__model="lead", object_id=lead.pk, field="contact")
    assert [(r.old_value, r.new_value, r.new_display) for r in link] == [
        (None, str(existing.pk), str(existing))
    ]
    assert {r.source for r in mark.rows(content_type__model="lead")} == {"automation"}


def test_record_event_for_what_no_save_says(manager, pipeline, since):
    deal = _deal(manager, pipeline)
    mark = since()
    assert record_event(deal, "merge", field="merged_from", old=41) == 1
    (row,) = mark.rows()
    assert (row.action, row.field, row.old_value) == ("merge", "merged_from", "41")
    with pytest.raises(ValueError):
        record_event(deal, "explode")


def test_bulk_owner_change_from_a_list_writes_rows(manager_client, manager, teammate, since):
    contacts = [contact_create(actor=manager, first_name=f"C{i}") for i in range(3)]
    mark = since()
    response = manager_client.post(
        reverse("core:bulk", args=["contact"]),
        {"action": "assign_owner", "value": teammate.pk, "ids": [c.pk for c in contacts]},
    )
    assert response.status_code == 302
    rows = mark.rows(field="owner")
    assert {r.object_id for r in rows} == {c.pk for c in contacts}
    assert {(r.old_display, r.new_display, r.source, r.actor_id) for r in rows} == {
        ("Anna Petrova", "Boris Ivanov", "page", manager.pk)
    }


def test_bulk_actions_stay_linear_with_audit(manager_client, manager, teammate):
    """A bulk action saves record by record; the audit adds a fixed cost per record (one
    read of the old row, one INSERT of its rows, owner names looked up once) and nothing
    that grows with anything else."""

    def run(n):
        contacts = [contact_create(actor=manager, first_name=f"C{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            manager_client.post(
                reverse("core:bulk", args=["contact"]),
                {"action": "assign_owner", "value": teammate.pk, "ids": [c.pk for c in contacts]},
            )
        inserts = [q for q in ctx.captured_queries if 'INTO "audit_auditentry"' in q["sql"]]
        assert len(inserts) == n
        return len(ctx.captured_queries)

    one, two, four = run(1), run(2), run(4)
    assert four - two == 2 * (two - one)
    assert AuditEntry.objects.filter(field="owner", action="update").count() == 7


def test_an_import_records_its_rows_with_source_import(admin, since, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from svyaz.dataquality import services as dq

    settings.MEDIA_ROOT = tmp_path
    settings.CELERY_TASK_ALWAYS_EAGER = True
    content = "Имя;Фамилия;Телефон\r\nИван;Петров;+79161112233\r\n".encode()
    mark = since()
    job = dq.import_upload(
        actor=admin,
        entity="contact",
        upload=SimpleUploadedFile("p.csv", content, content_type="text/csv"),
    )
    job = dq.import_set_mapping(
        actor=admin, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    dq.import_start(actor=admin, job=job)
    dq.import_run(job_id=job.pk)
    rows = mark.rows(content_type__model="contact")
    assert rows and {(r.source, r.actor_id) for r in rows} == {("import", admin.pk)}


def test_writes_inside_audit_source_take_its_source_and_actor(manager, teammate, since):
    mark = since()
    with audit_source("job", actor=teammate):
        contact = contact_create(actor=manager, first_name="Olga")
        with audit_source("automation"):  # keeps the actor of the surrounding context
            contact_update(actor=manager, contact=contact, data={"first_name": "Olya"})
    create, *_ = mark.rows(action="create", content_type__model="contact")
    update = mark.rows(action="update", field="first_name")[0]
    assert (create.source, create.actor_id, create.actor_name) == (
        "job",
        teammate.pk,
        "Boris Ivanov",
    )
    assert (update.source, update.actor_id) == ("automation", teammate.pk)


def test_outside_any_context_the_source_is_system(manager, since):
    mark = since()
    Lead.objects.create(title="Raw", owner=manager)
    assert {(r.source, r.actor_id) for r in mark.rows()} == {("system", None)}


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError), audit_source("telepathy"):
        pass


def test_orders_deleted_by_their_service_are_soft_deletes(manager, since):
    contact = contact_create(actor=manager, first_name="Olga")
    order = sales.order_create(actor=manager, contact=contact, amount=Decimal("5"))
    mark = since()
    sales.order_delete(actor=manager, order=order)
    assert [r.action for r in mark.rows(content_type__model="order")] == ["delete"]
    assert Order.all_objects.filter(pk=order.pk).exists()
