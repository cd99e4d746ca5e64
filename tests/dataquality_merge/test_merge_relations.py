"""Relation coverage: every foreign key to a contact or a company, in any app, has a rule.

The merge finds relations by introspection, so a new app's foreign key is moved without a
change in dataquality/merge.py — unless no rule can be safe (a one-to-one, a conditional
unique constraint). Then these tests fail and the merge refuses to run."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from svyaz.contacts.models import Company, Contact, ContactCompany
from svyaz.dataquality import merge as merging
from svyaz.dataquality.models import Merge
from tests.dataquality_merge.conftest import snapshot


@pytest.mark.parametrize("entity", ["contact", "company"])
def test_every_relation_has_a_rule(entity):
    assert merging.unhandled_relations(entity) == []


@pytest.mark.parametrize(("entity", "model"), [("contact", Contact), ("company", Company)])
def test_the_plan_covers_every_foreign_key_of_every_app(entity, model):
    """Cross-check the plan against a scan of all models (through tables included)."""
    planned = {r.label: r.how for r in merging.relation_plan(entity)}
    found = {
        f"{m._meta.label_lower}.{f.name}"
        for m in apps.get_models(include_auto_created=True)
        for f in m._meta.get_fields()
        # A many-to-many field is stored in its through table, whose foreign key is scanned.
        if f.concrete and f.is_relation and not f.many_to_many and f.related_model is model
    }
    assert found, "the scan found nothing: it is broken"
    missing = sorted(label for label in found if planned.get(label) in (None, merging.UNHANDLED))
    assert missing == []


def test_the_known_relations_get_the_expected_rules():
    plan = {r.label: r.how for r in merging.relation_plan("contact")}
    assert plan["sales.deal.contact"] == merging.MOVE
    assert plan["core.timelineentry.contact"] == merging.MOVE
    assert plan["contacts.phone.contact"] == merging.UNION
    assert plan["contacts.contact_tags.contact"] == merging.UNION
    assert plan["contacts.contactcompany.contact"] == merging.UNION
    assert plan["contacts.clientsummary.contact"] == merging.REBUILD
    assert plan["dataquality.externalkey.object_id"] == merging.MOVE


def test_unique_constraints_become_union_keys_and_conditional_ones_are_refused():
    assert merging._unique_groups(ContactCompany, "contact") == [("company",)]
    # A conditional unique constraint can't be reasoned about: no rule.
    assert merging._unique_groups(Merge, "other_id") is None


def test_a_relation_without_a_rule_stops_the_merge(manager, pair, monkeypatch):
    monkeypatch.setattr(merging, "REBUILT", set())
    assert merging.unhandled_relations("contact") == ["contacts.clientsummary.contact"]
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    with pytest.raises(ImproperlyConfigured, match="contacts.clientsummary.contact"):
        merging.merge_records(
            actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
        )
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before
    assert not Merge.objects.exists()
