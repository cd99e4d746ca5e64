"""A client with a bit of everything a card shows, some of it out of the viewer's scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone
from svyaz.core.models import CustomField, Tag
from svyaz.followups.models import Followup, FollowupStatus
from svyaz.sales.models import Deal, Order


def _owned(user) -> dict:
    return {"owner": user, "department": user.department}


@pytest.fixture
def rich(manager, teammate, outsider, pipeline):
    """A contact and its company, both the manager's, with phones, e-mails, addresses,
    tags, memberships (one to a company of the outsider, one to a deleted company), 25
    deals (22 the manager's, one deleted, two the outsider's), 23 orders, open and done
    tasks (one the outsider's but assigned to the manager), custom values."""
    now = timezone.now()
    CustomField.objects.create(entity="contact", code="segment", label="Segment", position=2)
    CustomField.objects.create(entity="contact", code="vip", label="VIP", position=1)
    CustomField.objects.create(entity="company", code="size", label="Size", position=1)
    company = Company.objects.create(name="Ромашка & <Co>", custom={"size": 5}, **_owned(manager))
    other = Company.objects.create(name="Чужая", **_owned(outsider))
    gone = Company.objects.create(name="Удалена", deleted_at=now, **_owned(manager))
    contact = Contact.objects.create(
        first_name="Иван",
        last_name="Петров",
        full_name="Петров Иван",
        job_title="CEO",
        custom={"segment": "A", "vip": True, "unknown": 1},
        **_owned(manager),
    )
    colleague = Contact.objects.create(
        first_name="Анна", last_name="Абрамова", full_name="Абрамова Анна", **_owned(teammate)
    )
    Contact.objects.create(
        first_name="Ян", last_name="Борисов", full_name="Борисов Ян", **_owned(manager)
    )
    for obj in (contact, company):
        owner = {"contact": obj} if isinstance(obj, Contact) else {"company": obj}
        Phone.objects.create(number="+79160000001", digits="79160000001", kind="work", **owner)
        Phone.objects.create(number="+79160000002", digits="79160000002", is_primary=True, **owner)
        Email.objects.create(email="b@example.com", **owner)
        Email.objects.create(email="a@example.com", is_primary=True, kind="personal", **owner)
        Address.objects.create(city="Москва", street="Тверская, 1", kind="legal", **owner)
        Address.objects.create(city="Тула", postal_code="300000", **owner)
        obj.tags.set(
            [Tag.objects.get_or_create(name=n, defaults={"color": c})[0] for n, c in
             (("vip", "danger"), ("b2b", "info"), ("<x>", "secondary"))]
        )  # fmt: skip
    ContactCompany.objects.create(contact=contact, company=other, role="советник")
    ContactCompany.objects.create(contact=contact, company=gone)
    ContactCompany.objects.create(contact=contact, company=company, role="CEO", is_primary=True)
    ContactCompany.objects.create(contact=colleague, company=company, role="бухгалтер")
    for name in ("Борисов Ян",):
        ContactCompany.objects.create(
            contact=Contact.objects.get(full_name=name), company=company, is_primary=True
        )
    new, won = pipeline.stages.order_by("position")[0], pipeline.stages.get(name="Won")
    for i in range(25):
        who = outsider if i in (3, 7) else manager
        Deal.objects.create(
            title=f"Deal {i} <b>",
            pipeline=pipeline,
            stage=won if i % 2 else new,
            amount=Decimal("1234.5") * i,
            currency="RUB" if i % 3 else "USD",
            contact=contact,
            company=company if i % 4 == 0 else None,
            created_at=now - dt.timedelta(hours=i % 10, minutes=i),
            deleted_at=now if i == 5 else None,
            **_owned(who),
        )
    for i in range(23):
        Order.objects.create(
            number="" if i == 4 else f"S-{i:04d}",
            contact=contact,
            company=company if i % 2 else None,
            ordered_at=now - dt.timedelta(days=i // 2),
            amount=Decimal("99.99") + i,
            currency="RUB",
            **_owned(outsider if i == 6 else manager),
        )
    for i, (who, assignee, status) in enumerate(
        [
            (manager, manager, FollowupStatus.OPEN),
            (manager, teammate, FollowupStatus.OPEN),
            (outsider, manager, FollowupStatus.OPEN),
            (outsider, outsider, FollowupStatus.OPEN),
            (manager, manager, FollowupStatus.DONE),
        ]
    ):
        Followup.objects.create(
            title=f"Task {i} & co",
            assignee=assignee,
            due_at=now + dt.timedelta(days=2 - i),
            status=status,
            contact=contact,
            company=company if i % 2 else None,
            **_owned(who),
        )
    return contact, company
