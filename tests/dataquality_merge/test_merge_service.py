"""merge_records / merge_undo: what moves, what is unioned, what the user picks, and an
undo that gives back exactly what was there ("the whole history intact")."""

from __future__ import annotations

import datetime as dt

import pytest

from svyaz.activities.models import Activity
from svyaz.contacts.models import ClientSummary, Contact, ContactCompany
from svyaz.contacts.services import contact_update
from svyaz.core import events, recycle
from svyaz.core.errors import NotFound, PermissionDenied, ValidationError
from svyaz.core.models import TimelineEntry
from svyaz.dataquality import merge as merging
from svyaz.dataquality.models import ExternalKey, Merge
from svyaz.intake.models import CallEvent, LeadIntake
from svyaz.sales.models import Deal, Lead, Order
from tests.dataquality_merge.conftest import rows_of, snapshot
from tests.factories import ContactFactory, UserFactory


def _merge(actor, pair, **kwargs):
    return merging.merge_records(
        actor=actor,
        entity="contact",
        survivor_id=pair["a"].pk,
        other_id=pair["b"].pk,
        **kwargs,
    )


def test_it_moves_every_related_row_to_the_survivor(manager, pair):
    a, b = pair["a"], pair["b"]
    merge = _merge(manager, pair)
    # Everything that is not a duplicate of a row of A is on A now, deleted rows included.
    assert Deal.objects.filter(contact=a).count() == 2
    assert Order.objects.filter(contact=a).count() == 2
    assert Activity.all_objects.filter(contact=a).count() == 5
    assert Activity.all_objects.get(pk=pair["gone"].pk).deleted_at is not None
    assert a.followups.count() == 2
    assert Lead.objects.get(pk=pair["lead"].pk).contact == a
    assert LeadIntake.objects.get(lead=pair["lead"]).duplicate_of == a
    assert CallEvent.objects.get(event_id="call-1").contact == a
    assert ExternalKey.objects.get(external_id="OLD-7").object_id == a.pk
    assert not TimelineEntry.objects.filter(contact=b).exclude(data__has_key="merge").exists()
    # Nothing movable stays with B but the rows A already has an equal of.
    for rel in merging.relation_plan("contact"):
        if rel.how == merging.MOVE:
            assert rows_of(rel.label, "contact", b.pk) == 0 or rel.model is TimelineEntry, rel
    assert merge.other_deleted_at is not None
    assert Contact.all_objects.get(pk=b.pk).deleted_at == merge.other_deleted_at
    assert not Contact.objects.filter(pk=b.pk).exists()
    assert merging.merged_into(entity="contact", pk=b.pk) == a.pk


def test_it_unions_phones_emails_addresses_tags_and_companies(manager, pair):
    a, b = pair["a"], pair["b"]
    _merge(manager, pair)
    phones = list(a.phones.order_by("-is_primary", "id").values_list("number", "is_primary"))
    # E.164: "8 916 123 45 67" of B is A's "+7 916 123-45-67"; B's primary phone moved as a
    # second one (A keeps its primary).
    assert phones == [("+79161234567", True), ("+79030000001", False)]
    assert sorted(a.emails.values_list("email", flat=True)) == [
        "ivan.p@mail.ru",
        "ivan@example.com",
    ]
    assert sorted(a.addresss.values_list("city", flat=True)) == ["Moscow", "Tula"]
    assert sorted(t.name for t in a.tags.all()) == ["moscow", "vip"]
    links = {m.company.name: m.role for m in ContactCompany.objects.filter(contact=a)}
    assert links == {"Romashka": "CEO", "Vasilek": "Advisor"}
    # The duplicates stay with B (in the recycle bin), so the undo has nothing to rebuild.
    assert list(b.phones.values_list("number", flat=True)) == ["+79161234567"]
    assert list(b.emails.values_list("email", flat=True)) == ["ivan@example.com"]
    assert ContactCompany.objects.filter(contact=b).count() == 1


def test_without_choices_the_survivor_keeps_its_values_and_fills_its_blanks(manager, pair):
    a = pair["a"]
    merge = _merge(manager, pair)
    a.refresh_from_db()
    assert a.job_title == "Manager"
    assert a.middle_name == "Sergeevich"
    assert a.birthday == dt.date(1980, 5, 17)
    assert a.full_name == "Petrov Ivan Sergeevich"
    assert a.custom == {"segment": "retail", "vip": True}
    assert merge.choices["job_title"] == "survivor"
    assert merge.choices["middle_name"] == "other"
    assert merge.survivor_before == {
        "middle_name": "",
        "birthday": None,
        "custom.vip": None,
    }


def test_it_honours_the_field_choices(manager, pair):
    a = pair["a"]
    merge = _merge(
        manager,
        pair,
        choices={
            "job_title": "other",
            "middle_name": "survivor",
            "custom.segment": "other",
            "custom.vip": "survivor",
        },
    )
    a.refresh_from_db()
    assert a.job_title == "Director"
    assert a.middle_name == ""
    assert a.custom == {"segment": "wholesale"}
    assert merge.survivor_after["job_title"] == "Director"
    entry = TimelineEntry.objects.get(contact=a, data__merge=merge.pk)
    assert entry.title == f"Merged with {pair['b']}"
    assert {c["field"] for c in entry.data["changes"]} == {
        "job_title",
        "birthday",
        "custom.segment",
    }
    assert "Job title: Manager → Director" in entry.body


def test_undo_restores_exactly_the_prior_state(manager, pair):
    ids = [pair["a"].pk, pair["b"].pk]
    before = snapshot("contact", ids)
    merge = _merge(manager, pair, choices={"job_title": "other", "custom.segment": "other"})
    assert snapshot("contact", ids) != before
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert snapshot("contact", ids) == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == manager
    assert merge.undo_report == {"kept_fields": [], "rows_left": 0}
    assert Contact.objects.filter(pk=pair["b"].pk).exists()
    assert merging.merged_into(entity="contact", pk=pair["b"].pk) is None
    entries = TimelineEntry.objects.filter(data__merge=merge.pk).order_by("id")
    assert [(e.contact_id, e.title.split(" Petrov")[0]) for e in entries] == [
        (pair["a"].pk, "Merged with"),
        (pair["b"].pk, "Merged into"),
        (pair["a"].pk, "Merge with"),
        (pair["b"].pk, "Merge into"),
    ]
    assert entries[3].title.endswith("undone: the record is back")


def test_the_client_summary_is_rebuilt_on_merge_and_on_undo(manager, pair):
    a, b = pair["a"], pair["b"]
    assert ClientSummary.objects.get(contact=a).orders_count == 1
    merge = _merge(manager, pair)
    assert ClientSummary.objects.get(contact=a).orders_count == 2
    assert ClientSummary.objects.get(contact=a).open_deals == 2
    assert ClientSummary.objects.get(contact=b).orders_count == 0
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert ClientSummary.objects.get(contact=a).orders_count == 1
    assert ClientSummary.objects.get(contact=b).orders_count == 1


def test_undo_keeps_a_value_changed_after_the_merge(manager, pair):
    a = pair["a"]
    merge = _merge(manager, pair, choices={"job_title": "other"})
    a.refresh_from_db()
    contact_update(actor=manager, contact=a, data={"job_title": "Chief executive"})
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    a.refresh_from_db()
    assert a.job_title == "Chief executive"  # the newer value wins
    assert a.middle_name == ""  # untouched since the merge: restored
    merge.refresh_from_db()
    assert merge.undo_report["kept_fields"] == ["job_title"]
    entry = TimelineEntry.objects.get(contact=a, data__merge=merge.pk, data__undo=True)
    assert "Kept the newer values of: Job title" in entry.body
    assert "Job title" in merging.undo_message(merge)


def test_undo_leaves_a_row_moved_elsewhere_since(manager, pair):
    a, b = pair["a"], pair["b"]
    other = ContactFactory(owner=manager)
    merge = _merge(manager, pair)
    deal_b = Deal.objects.get(title="Deal b")
    Deal.objects.filter(pk=deal_b.pk).update(contact=other)
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert Deal.objects.get(pk=deal_b.pk).contact == other
    assert Order.objects.get(number="N-b").contact == b
    merge.refresh_from_db()
    assert merge.undo_report["rows_left"] == 1
    assert a.deals.count() == 1


def test_undo_twice_is_refused(manager, pair):
    merge = _merge(manager, pair)
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    with pytest.raises(ValidationError, match="already undone"):
        merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before


def test_a_record_cannot_be_merged_with_itself(manager, pair):
    with pytest.raises(ValidationError) as exc:
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["a"].pk
        )
    assert exc.value.message_dict == {"other": ["A record cannot be merged with itself."]}
    assert not Merge.objects.exists()


def test_an_already_merged_record_gets_a_clear_error(manager, pair):
    third = ContactFactory(owner=manager, first_name="Ivan", last_name="Petroff")
    merge = _merge(manager, pair)
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk, third.pk])
    with pytest.raises(ValidationError) as exc:
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=third.pk, other_id=pair["b"].pk
        )
    assert exc.value.message_dict == {
        "other": [
            f"“{pair['b']}” (#{pair['b'].pk}) was already merged into “{merge.survivor_name}” "
            f"(#{pair['a'].pk})."
        ]
    }
    with pytest.raises(ValidationError, match="already merged"):
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=pair["b"].pk, other_id=third.pk
        )
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk, third.pk]) == before
    assert Merge.objects.count() == 1


def test_a_later_merge_of_the_survivor_must_be_undone_first(manager, pair):
    third = ContactFactory(owner=manager)
    first = _merge(manager, pair)
    second = merging.merge_records(
        actor=manager, entity="contact", survivor_id=third.pk, other_id=pair["a"].pk
    )
    with pytest.raises(ValidationError, match="undo that merge first"):
        merging.merge_undo(actor=manager, merge_id=first.pk)
    merging.merge_undo(actor=manager, merge_id=second.pk)
    merging.merge_undo(actor=manager, merge_id=first.pk)
    assert Deal.objects.get(title="Deal b").contact == pair["b"]
    assert Deal.objects.get(title="Deal a").contact == pair["a"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"nickname": "other"}, "Unknown field “nickname”."),
        ({"job_title": "both"}, "Choose “survivor” or “other” for “Job title”."),
        ({"custom.unknown": "other"}, "Unknown field “custom.unknown”."),
    ],
)
def test_bad_choices_are_refused_and_nothing_is_written(manager, pair, choices, message):
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    with pytest.raises(ValidationError) as exc:
        _merge(manager, pair, choices=choices)
    assert exc.value.message_dict == {"choices": [message]}
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before
    assert not Merge.objects.exists()


def test_a_bad_entity_or_id_is_a_validation_error(manager, pair):
    with pytest.raises(ValidationError) as exc:
        merging.merge_records(actor=manager, entity="deal", survivor_id=1, other_id=2)
    assert "entity" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        merging.merge_records(actor=manager, entity="contact", survivor_id="x", other_id=2)
    assert "survivor" in exc.value.message_dict


def test_an_outsider_gets_not_found_and_nothing_changes(outsider, manager, pair):
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    with pytest.raises(NotFound):
        _merge(outsider, pair)
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before
    assert not Merge.objects.exists()


def test_one_record_out_of_scope_is_enough_to_refuse(manager, outsider, pair):
    theirs = ContactFactory(owner=outsider)
    with pytest.raises(NotFound):
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=theirs.pk
        )
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_visible_but_not_editable_is_permission_denied(other_dept, pair):
    marketer = UserFactory(department=other_dept, roles=["marketer"])  # sees all, edits own
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    with pytest.raises(PermissionDenied):
        _merge(marketer, pair)
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before


def test_the_undo_is_scoped_too(manager, outsider, pair):
    merge = _merge(manager, pair)
    with pytest.raises(NotFound):
        merging.merge_undo(actor=outsider, merge_id=merge.pk)
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_the_head_of_the_department_can_merge_the_managers_contacts(head, pair):
    merge = _merge(head, pair)
    assert merge.actor == head


def test_an_automatic_merge_has_no_actor(pair):
    merge = _merge(None, pair)
    assert merge.actor is None
    entry = TimelineEntry.objects.get(contact=pair["a"], data__merge=merge.pk)
    assert entry.actor is None
    merging.merge_undo(actor=None, merge_id=merge.pk)


def test_the_merged_record_is_in_the_recycle_bin_deleted_by_the_actor(manager, pair):
    _merge(manager, pair)
    items = recycle.recycle_bin_list(user=manager, entity="contact")
    assert [(i.pk, i.deleted_by) for i in items] == [(pair["b"].pk, manager)]


def test_events_are_sent_after_commit(
    manager, pair, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []
    monkeypatch.setattr(events, "_subscribers", {"*": [lambda name, **kw: seen.append(name)]})
    with django_capture_on_commit_callbacks(execute=True):
        merge = _merge(manager, pair)
    assert {"contact.merged", "contact.deleted", "contact.updated"} <= set(seen)
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert {"contact.merge_undone", "contact.restored"} <= set(seen)


def test_companies_merge_and_undo_with_the_whole_history_intact(manager, company_pair):
    a, b = company_pair["a"], company_pair["b"]
    ids = [a.pk, b.pk]
    before = snapshot("company", ids)
    merge = merging.merge_records(
        actor=manager,
        entity="company",
        survivor_id=a.pk,
        other_id=b.pk,
        choices={"name": "survivor", "custom.tier": "other"},
    )
    a.refresh_from_db()
    assert a.legal_name == "OOO Romashka"  # filled from B
    assert a.website == "https://romashka.ru"
    assert a.custom == {"tier": "silver"}
    assert sorted(a.phones.values_list("number", flat=True)) == ["+74951112233", "+74959990000"]
    assert sorted(t.name for t in a.tags.all()) == ["key", "supplier"]
    members = set(ContactCompany.objects.filter(company=a).values_list("contact_id", flat=True))
    assert members == {company_pair["both"].pk, company_pair["only_b"].pk}
    assert Deal.objects.filter(company=a).count() == 2
    assert Order.objects.filter(company=a).count() == 2
    assert ClientSummary.objects.get(company=a).orders_count == 2
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert snapshot("company", ids) == before


def test_a_merged_record_restored_from_the_recycle_bin_cannot_be_merged_away_again(manager, pair):
    merge = _merge(manager, pair)
    recycle.record_restore(actor=manager, obj=Contact.all_objects.get(pk=pair["b"].pk))
    third = ContactFactory(owner=manager)
    with pytest.raises(ValidationError, match="already merged"):
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=third.pk, other_id=pair["b"].pk
        )
    merging.merge_undo(actor=manager, merge_id=merge.pk)
    assert Deal.objects.get(title="Deal b").contact == pair["b"]


def test_undo_after_the_merged_record_was_purged_is_refused(manager, pair):
    merge = _merge(manager, pair)
    Contact.all_objects.filter(pk=pair["b"].pk).delete()
    with pytest.raises(ValidationError, match="removed for good"):
        merging.merge_undo(actor=manager, merge_id=merge.pk)
    merge.refresh_from_db()
    assert merge.undone_at is None
