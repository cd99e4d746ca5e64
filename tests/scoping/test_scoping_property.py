"""Property test of the access layer (issue #3): random department trees, people, heads,
roles and records; `core.scoping.visible_to` must give exactly the set a plain reference
implementation (written here, independently) computes — for every action, on contacts
(owner + department) and tasks (owner, assignee + department)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svyaz.accounts.models import Department, Role, User
from svyaz.contacts.models import Contact
from svyaz.core import scoping
from svyaz.followups.models import Followup

pytestmark = pytest.mark.django_db(transaction=False)

SCOPES = ["none", "own", "department", "subtree", "all"]
ACTIONS = ["view", "edit", "delete", "export"]


class _Rollback(Exception):
    pass


@st.composite
def worlds(draw):
    n_depts = draw(st.integers(1, 6))
    # parent index < own index: always a forest.
    parents = [None] + [
        draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n_depts)
    ]
    n_users = draw(st.integers(1, 5))
    users = [
        {
            "dept": draw(st.one_of(st.none(), st.integers(0, n_depts - 1))),
            "superuser": draw(st.booleans()) and draw(st.booleans()),
        }
        for _ in range(n_users)
    ]
    heads = [draw(st.one_of(st.none(), st.integers(0, n_users - 1))) for _ in range(n_depts)]
    n_roles = draw(st.integers(0, 3))
    roles = [
        {
            entity: {a: draw(st.sampled_from(SCOPES)) for a in ACTIONS}
            for entity in ("contacts", "tasks")
        }
        for _ in range(n_roles)
    ]
    holds = [
        draw(st.sets(st.integers(0, max(n_roles - 1, 0)))) if n_roles else set()
        for _ in range(n_users)
    ]
    records = [
        {
            "owner": draw(st.one_of(st.none(), st.integers(0, n_users - 1))),
            "dept": draw(st.one_of(st.none(), st.integers(0, n_depts - 1))),
            "assignee": draw(st.integers(0, n_users - 1)),  # a task always has one
        }
        for _ in range(draw(st.integers(0, 12)))
    ]
    return {
        "parents": parents,
        "users": users,
        "heads": heads,
        "roles": roles,
        "holds": holds,
        "records": records,
    }


def _descendants(parents: list, roots: set[int]) -> set[int]:
    out = set(roots)
    changed = True
    while changed:
        changed = False
        for i, p in enumerate(parents):
            if p in out and i not in out:
                out.add(i)
                changed = True
    return out


def reference_visible(world, u: int, entity: str, action: str) -> set[int]:
    """Record indexes user `u` may `action` — the rules of issue #3, spelled out naively."""
    user = world["users"][u]
    records = world["records"]
    if user["superuser"]:
        return set(range(len(records)))
    scope = "none"
    for r in world["holds"][u]:
        s = world["roles"][r][entity][action]
        if SCOPES.index(s) > SCOPES.index(scope):
            scope = s
    if scope == "none":
        return set()
    if scope == "all":
        return set(range(len(records)))
    depts: set[int] = set()
    if user["dept"] is not None and scope == "department":
        depts = {user["dept"]}
    if user["dept"] is not None and scope == "subtree":
        depts = _descendants(world["parents"], {user["dept"]})
    if action == "view":  # heads see the departments they head, and those below
        headed = {d for d, h in enumerate(world["heads"]) if h == u}
        depts |= _descendants(world["parents"], headed)
    out = set()
    for i, rec in enumerate(records):
        mine = rec["owner"] == u or (entity == "tasks" and rec["assignee"] == u)
        if mine or (rec["dept"] is not None and rec["dept"] in depts):
            out.add(i)
    return out


def _build(world):
    depts = []
    for i, parent in enumerate(world["parents"]):
        depts.append(
            Department.objects.create(
                name=f"D{i}", parent=depts[parent] if parent is not None else None
            )
        )
    users = [
        User.objects.create(
            username=f"u{i}",
            department=depts[spec["dept"]] if spec["dept"] is not None else None,
            is_superuser=spec["superuser"],
        )
        for i, spec in enumerate(world["users"])
    ]
    for d, head in zip(depts, world["heads"], strict=True):
        if head is not None:
            d.head = users[head]
            d.save(update_fields=["head"])
    roles = [
        Role.objects.create(code=f"r{i}", name=f"R{i}", grants=grants)
        for i, grants in enumerate(world["roles"])
    ]
    for user, held in zip(users, world["holds"], strict=True):
        user.roles.set([roles[r] for r in held])

    # bulk_create: plain rows are all this test needs (no timeline, no audit).
    def owner(rec):
        return users[rec["owner"]] if rec["owner"] is not None else None

    def dept(rec):
        return depts[rec["dept"]] if rec["dept"] is not None else None

    contacts = Contact.objects.bulk_create(
        Contact(full_name=f"C{i}", first_name=f"C{i}", owner=owner(rec), department=dept(rec))
        for i, rec in enumerate(world["records"])
    )
    tasks = Followup.objects.bulk_create(
        Followup(
            title=f"T{i}",
            due_at=timezone.now(),
            owner=owner(rec),
            department=dept(rec),
            assignee=users[rec["assignee"]],
        )
        for i, rec in enumerate(world["records"])
    )
    return users, contacts, tasks


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_visible_sets_match_the_reference(world):
    try:
        with transaction.atomic():
            users, contacts, tasks = _build(world)
            for u, user in enumerate(users):
                user = User.objects.get(pk=user.pk)  # fresh: no cached grants
                for entity, objs, model in (
                    ("contacts", contacts, Contact),
                    ("tasks", tasks, Followup),
                ):
                    index = {obj.pk: i for i, obj in enumerate(objs)}
                    for action in ACTIONS:
                        got = {
                            index[pk]
                            for pk in scoping.visible_to(
                                user, model.objects.all(), action=action
                            ).values_list("pk", flat=True)
                        }
                        want = reference_visible(world, u, entity, action)
                        assert got == want, (entity, action, u, world)
                        # The per-record check agrees with the queryset filter.
                        for i, obj in enumerate(objs):
                            assert scoping.can(user, entity, action, obj) == (i in want)
            raise _Rollback
    except _Rollback:
        pass


def test_an_inactive_or_anonymous_user_sees_nothing(manager):
    from django.contrib.auth.models import AnonymousUser

    Contact.objects.create(full_name="X", owner=manager, department=manager.department)
    assert not scoping.visible_to(AnonymousUser(), Contact.objects.all()).exists()
    manager.is_active = False
    assert not scoping.visible_to(manager, Contact.objects.all()).exists()


def test_field_rules_add_up_across_roles(db):
    a = Role.objects.create(
        code="a", name="A", field_rules={"deals": {"amount": "hidden", "probability": "hidden"}}
    )
    b = Role.objects.create(code="b", name="B", field_rules={"deals": {"amount": "readonly"}})
    c = Role.objects.create(code="c", name="C")
    user = User.objects.create(username="x")
    user.roles.set([a])
    assert scoping.hidden_fields(user, "deals") == {"amount", "probability"}
    user.roles.set([a, b])
    user = User.objects.get(pk=user.pk)
    # amount: hidden by one, read-only by the other → read-only; probability: only one
    # role rules it → free.
    assert scoping.hidden_fields(user, "deals") == set()
    assert scoping.readonly_fields(user, "deals") == {"amount"}
    user.roles.set([a, c])
    user = User.objects.get(pk=user.pk)
    assert scoping.readonly_fields(user, "deals") == set()
