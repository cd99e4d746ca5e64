"""contact_card / company_card read in one query (card_relations) what contact_get /
company_get prefetch and client_related reads in nine: the same rows, in the same order,
within the same scope."""

from __future__ import annotations

import pytest

from svyaz.accounts.models import Role
from svyaz.contacts import selectors
from svyaz.contacts.models import Address, ContactCompany, Email, Phone
from svyaz.core.errors import NotFound
from svyaz.core.models import CustomField
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _channels(obj) -> dict:
    return {
        "phones": [(p.pk, p.number, p.digits, p.kind, p.is_primary) for p in obj.phones.all()],
        "emails": [(e.pk, e.email, e.kind, e.is_primary) for e in obj.emails.all()],
        "addresses": [(a.pk, str(a), a.get_kind_display(), a.country) for a in obj.addresss.all()],
        "tags": [(t.pk, t.name, t.color) for t in obj.tags.all()],
        "members": [
            (m.pk, m.contact_id, m.company_id, m.role, m.is_primary, m.company.name)
            if obj._meta.model_name == "contact"
            else (m.pk, m.contact_id, m.company_id, m.role, m.is_primary, m.contact.full_name)
            for m in obj.memberships.all()
        ],
    }


def _related(user, obj) -> dict:
    """client_related's records as card_relations' tuples."""
    related = selectors.client_related(user=user, **{obj._meta.model_name: obj})
    return {
        "deals": [(d.pk, d.title, d.stage.name, d.amount, d.currency) for d in related["deals"]],
        "orders": [(o.pk, o.number, o.ordered_at, o.amount, o.currency) for o in related["orders"]],
        "open_tasks": [
            (
                t.pk,
                t.title,
                t.due_at,
                t.status,
                t.assignee_id,
                t.assignee.first_name,
                t.assignee.last_name,
                t.assignee.username,
            )
            for t in related["open_tasks"]
        ],
    }


def _defs(entity: str) -> list[tuple[str, str]]:
    return [(d.code, d.label) for d in CustomField.objects.filter(entity=entity)]


def _viewers(request) -> list:
    """The manager (own records), the head (the department), the admin (everything)."""
    return [request.getfixturevalue(name) for name in ("manager", "head", "admin")]


def test_it_reads_what_the_prefetches_and_client_related_read(request, rich):
    contact, company = rich
    for user in _viewers(request):
        for card, get in (
            (selectors.contact_card, selectors.contact_get),
            (selectors.company_card, selectors.company_get),
        ):
            obj = contact if card is selectors.contact_card else company
            fast, slow = card(user=user, pk=obj.pk), get(user=user, pk=obj.pk)
            assert _channels(fast) == _channels(slow), (user, card)
            assert fast.card_related == _related(user, slow), (user, card)
            assert fast.card_custom_fields == _defs(obj._meta.model_name)


def test_it_keeps_the_scope_of_every_block(manager, head, rich):
    contact, company = rich
    mine = selectors.contact_card(user=manager, pk=contact.pk)
    # The outsider's company and the deleted one are left out; the primary comes first.
    assert [m.company.name for m in mine.memberships.all()] == ["Ромашка & <Co>"]
    deals = mine.card_related["deals"]
    assert len(deals) == 20 and all("Deal 3 " not in d[1] and "Deal 5 " not in d[1] for d in deals)
    assert len(mine.card_related["orders"]) == 20
    # Open tasks: the manager's own, and the outsider's one assigned to the manager.
    assert [t[1] for t in mine.card_related["open_tasks"]] == [
        "Task 2 & co",
        "Task 1 & co",
        "Task 0 & co",
    ]

    # The company card: the manager sees its own contacts only, the head the teammate's too.
    def members(user) -> list[str]:
        card = selectors.company_card(user=user, pk=company.pk)
        return [m.contact.full_name for m in card.memberships.all()]

    assert members(manager) == ["Борисов Ян", "Петров Иван"]
    assert members(head) == ["Абрамова Анна", "Борисов Ян", "Петров Иван"]


def test_it_reads_nothing_of_what_a_role_may_not_see(rich, sales_dept):
    contact, _company = rich
    narrow = Role.objects.create(
        code="contacts_only", name="Contacts only", grants={"contacts": {"view": "all"}}
    )
    user = UserFactory(roles=[narrow], department=sales_dept)
    card = selectors.contact_card(user=user, pk=contact.pk)
    assert card.card_related == {"deals": [], "orders": [], "open_tasks": []}
    assert list(card.memberships.all()) == []
    assert len(card.phones.all()) == 2  # the contact's own rows stay
    assert card.card_related == _related(user, selectors.contact_get(user=user, pk=contact.pk))


def test_it_answers_404_out_of_scope(outsider, rich):
    contact, company = rich
    with pytest.raises(NotFound):
        selectors.contact_card(user=outsider, pk=contact.pk)
    with pytest.raises(NotFound):
        selectors.company_card(user=outsider, pk=company.pk)
    with pytest.raises(NotFound):
        selectors.contact_card(user=outsider, pk="x")


def test_it_needs_no_more_queries_on_the_card(manager, rich, django_assert_num_queries):
    from svyaz.core.scoping import access_for
    from svyaz.dataquality.completeness import record_completeness

    contact, _company = rich
    access_for(manager)  # the roles: read once per request, before the view
    with django_assert_num_queries(2):
        card = selectors.contact_card(user=manager, pk=contact.pk)
    with django_assert_num_queries(0):
        _channels(card)
        record_completeness(card)
        assert selectors.client_summary(card) is None  # read with the row (none here)


def test_it_reads_a_client_with_nothing_around_it(manager):
    from svyaz.contacts.services import contact_create

    contact = contact_create(actor=manager, first_name="Пустой")
    card = selectors.contact_card(user=manager, pk=contact.pk)
    assert _channels(card) == _channels(selectors.contact_get(user=manager, pk=contact.pk))
    assert card.card_related == {"deals": [], "orders": [], "open_tasks": []}
    assert card.card_custom_fields == []


def test_it_names_the_fields_in_the_models_order():
    for names, model in (
        (selectors._PHONE, Phone),
        (selectors._EMAIL, Email),
        (selectors._ADDRESS, Address),
        (selectors._MEMBERSHIP, ContactCompany),
    ):
        assert list(names) == [f.attname for f in model._meta.concrete_fields]


def _record(obj) -> tuple:
    from svyaz.contacts.models import ClientSummary

    summary = selectors.client_summary(obj)
    return (
        [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields],
        str(obj.owner) if obj.owner_id else None,
        [getattr(summary, f.attname) for f in ClientSummary._meta.concrete_fields]
        if summary
        else None,
    )


def test_it_reads_the_record_as_select_related_does(request, rich, admin):
    from svyaz.contacts.models import ClientSummary, Company, Contact
    from svyaz.core.scoping import get_visible

    contact, company = rich
    ClientSummary.objects.create(contact=contact, status="customer", orders_count=3)
    orphan = Contact.objects.create(first_name="Без", full_name="Без владельца", owner=None)
    for user in _viewers(request):
        for model, obj in ((Contact, contact), (Company, company), (Contact, orphan)):
            if obj is orphan and user is not admin:
                continue
            slow = get_visible(user, model.objects.select_related("owner", "summary"), obj.pk)
            assert _record(selectors.card_record(user, model, obj.pk)) == _record(slow)


def test_it_refuses_a_deleted_or_unknown_record_and_logs_a_denial(manager, outsider, rich):
    from django.utils import timezone

    from svyaz.audit.models import AccessDenial
    from svyaz.contacts.models import Contact

    contact, _company = rich
    with pytest.raises(NotFound):
        selectors.card_record(outsider, Contact, contact.pk)
    assert AccessDenial.objects.filter(user=outsider, object_id=str(contact.pk)).exists()
    Contact.objects.filter(pk=contact.pk).update(deleted_at=timezone.now())
    for pk in (contact.pk, 999999, "x", None):
        with pytest.raises(NotFound):
            selectors.card_record(manager, Contact, pk)
