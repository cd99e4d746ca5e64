"""The permission matrix, generated from the URL configuration (issue #3).

Every page and API route of the URL conf must have an entry in MATRIX below — a new route
without one fails `test_every_route_is_in_the_matrix`. Each entry says how the route is
checked, and `test_route_respects_scopes` checks it against one world:

    department A  ── sub-department A1        department B
    own_a    (own scope on every record entity)            A
    dept_a   (own-department scope)                        A
    all_a    (all scope)                                   A
    viewer_a (views the department, edits/deletes own)     A
    peer_a, sub_a, b_user: owners of the records           A, A1, B

Each owner has one record of every entity (contact, company, lead, deal, activity, task,
order), all carrying the owner's marker. Scope own sees only own_a's records; own
department sees own_a's and peer_a's (not A1's — that's "department and sub-departments"
— and never B's); all sees all four.

- List(entity): GET as own_a / dept_a / all_a shows exactly the allowed owners' markers.
- Detail(entity): GET of every record → 200 if in scope, else 404.
- Write(entity, method): out of view scope → 404; viewer_a on peer_a's record (visible,
  not editable) → 403; the record's row is unchanged in the database both times.
- Create(entity): a role without the create grant gets 403, nothing is written.
- Settings: a manager gets 403/404; the administrator role gets below 400.
- Own: the user's own things (profile, notifications, saved views, imports…): another
  user's object id → 404.
- Public / Reference / NotRecords: routes that carry no scoped business records (login,
  webhooks signed by their own keys, the catalogue and reference lists everyone reads);
  the reason is written next to each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from svyaz.accounts.models import Department, Role, User
from svyaz.activities.models import Activity
from svyaz.activities.services import activity_log
from svyaz.contacts.models import Company, Contact
from svyaz.contacts.services import company_create, contact_create
from svyaz.followups.models import Followup
from svyaz.followups.services import followup_create
from svyaz.sales import services as sales
from svyaz.sales.models import Deal, Lead, Order
from tests.factories import PipelineFactory

OWNERS = ["own_a", "peer_a", "sub_a", "b_user"]
MARK = {o: f"Zqx{o.replace('_', '')}M" for o in OWNERS}
VISIBLE = {  # viewer → owners whose records they see
    "own_a": {"own_a"},
    "dept_a": {"own_a", "peer_a"},
    "all_a": set(OWNERS),
}
ENTITY_MODEL = {
    "contacts": Contact,
    "companies": Company,
    "leads": Lead,
    "deals": Deal,
    "activities": Activity,
    "tasks": Followup,
    "orders": Order,
}
RECORD_ENTITIES = list(ENTITY_MODEL)


# --- the matrix ---------------------------------------------------------------------------


@dataclass
class Check:
    kind: str
    entity: str = ""
    methods: tuple[str, ...] = ("GET",)
    reason: str = ""
    query: str = ""
    kwargs: dict = field(default_factory=dict)


def List(entity, query="", methods=("GET",)):  # noqa: N802
    return Check("list", entity, methods, query=query)


def Detail(entity, methods=("GET",), query=""):  # noqa: N802
    return Check("detail", entity, methods, query=query)


def Write(entity, methods=("POST",)):  # noqa: N802
    return Check("write", entity, methods)


def Create(entity, methods=("GET", "POST")):  # noqa: N802
    return Check("create", entity, methods)


def Settings(methods=("GET",), **kwargs):  # noqa: N802
    return Check("settings", methods=methods, kwargs=kwargs)


def Own(reason, **kwargs):  # noqa: N802
    return Check("own", reason=reason, kwargs=kwargs)


def Public(reason):  # noqa: N802
    return Check("public", reason=reason)


def Reference(reason):  # noqa: N802
    return Check("reference", reason=reason)


def NotRecords(reason):  # noqa: N802
    return Check("notrecords", reason=reason)


SEARCH = "?q=Zqx"
MATRIX: dict[str, Check] = {
    # --- pages: clients, sales, work -------------------------------------------------------
    "contacts:contact_list": List("contacts"),
    "contacts:contact_create": Create("contacts"),
    "contacts:contact_detail": Detail("contacts"),
    "contacts:contact_edit": Write("contacts", ("GET", "POST")),
    "contacts:company_list": List("companies"),
    "contacts:company_create": Create("companies"),
    "contacts:company_detail": Detail("companies"),
    "contacts:company_edit": Write("companies", ("GET", "POST")),
    "sales:lead_list": List("leads"),
    "sales:lead_create": Create("leads"),
    "sales:lead_detail": Detail("leads"),
    "sales:lead_edit": Write("leads", ("GET", "POST")),
    "sales:lead_convert": Write("leads"),
    "sales:board": List("deals"),
    "sales:deal_list": List("deals"),
    "sales:deal_create": Create("deals"),
    "sales:deal_detail": Detail("deals"),
    "sales:deal_edit": Write("deals", ("GET", "POST")),
    "sales:deal_move": Write("deals"),
    "sales:deal_line_add": Write("deals"),
    "sales:deal_line_remove": Write("deals"),
    "sales:order_list": List("orders"),
    "sales:order_create": Create("orders"),
    "sales:order_detail": Detail("orders"),
    "sales:order_cancel": Write("orders"),
    "sales:product_list": Reference("the product catalogue: every role that sells reads it"),
    "sales:product_create": Settings(("GET",)),
    "sales:product_edit": Settings(("GET",), pk="product"),
    "activities:activity_list": List("activities"),
    "activities:activity_create": Create("activities", ("GET",)),
    "followups:task_list": List("tasks"),
    "followups:my_day": Own("the signed-in user's own day: own tasks only"),
    "followups:followup_create": Create("tasks", ("GET",)),
    "followups:followup_edit": Write("tasks", ("GET", "POST")),
    "followups:followup_complete": Write("tasks"),
    "followups:followup_cancel": Write("tasks"),
    "followups:notifications": Own("the user's own notifications"),
    "followups:notification_read": Own("the user's own notification", pk="notification"),
    "followups:notifications_read_all": Own("the user's own notifications"),
    "core:search": List("contacts", query=SEARCH),
    "core:timeline": Detail("contacts", query="?contact={pk}"),
    "core:bulk": Check("bulk", "contacts", ("POST",)),
    "core:saved_view_create": Own("saved views belong to their author", entity="contacts"),
    "core:saved_view_delete": Own("saved views belong to their author", pk="saved_view"),
    "core:recycle_bin": Check("deleted_list", "contacts"),
    "core:recycle_restore": Check("restore", "contacts", ("POST",)),
    # --- data quality -------------------------------------------------------------------
    "dataquality:contacts_vcard": List("contacts"),
    "dataquality:contact_vcard": Detail("contacts"),
    "dataquality:quality": NotRecords("aggregates of the visible base, no record shown"),
    "dataquality:import_list": Own("imports belong to the user who uploaded them"),
    "dataquality:import_upload": Own("a new upload of the signed-in user"),
    "dataquality:import_detail": Own("an import job of its uploader", pk="import"),
    "dataquality:import_mapping": Own("an import job of its uploader", pk="import"),
    "dataquality:import_preview": Own("an import job of its uploader", pk="import"),
    "dataquality:import_run": Own("an import job of its uploader", pk="import"),
    "dataquality:import_resume": Own("an import job of its uploader", pk="import"),
    "dataquality:import_undo": Own("an import job of its uploader", pk="import"),
    "dataquality:import_errors_csv": Own("an import job of its uploader", pk="import"),
    "dataquality:merge": Write("contacts", ("GET",)),
    "dataquality:merge_list": NotRecords("merges of records the user sees; none in this world"),
    "dataquality:merge_undo": NotRecords("a merge id; covered by tests/dataquality_merge"),
    "dataquality:duplicates": NotRecords("pairs of visible records; none in this world"),
    "dataquality:duplicate_dismiss": NotRecords("a pair id; covered by tests/dataquality_dedup"),
    "dataquality:duplicates_scan": Settings(("POST",)),
    "dataquality:dedup_settings": Settings(),
    # --- intake ---------------------------------------------------------------------------
    "intake:form_submit": Public("the public web-form endpoint (keyed, rate-limited)"),
    "intake:call_event": Public("telephony webhook, signed by the provider key"),
    "intake:form_list": Settings(),
    "intake:form_snippet": Settings(pk="webform"),
    "intake:mail_settings": Settings(),
    "intake:mailbox_create": Settings(),
    "intake:mailbox_edit": NotRecords("a mailbox id; settings — covered by tests/intake_mail"),
    "intake:mailbox_poll": NotRecords("a mailbox id; settings — covered by tests/intake_mail"),
    "intake:email_template_create": Settings(),
    "intake:email_template_edit": NotRecords("a template id; covered by tests/intake_mail"),
    "intake:mail_quarantine": Settings(),
    "intake:mail_quarantine_action": NotRecords("a quarantine id; covered by intake_mail"),
    "intake:mail_quarantine_raw": NotRecords("a quarantine id; covered by intake_mail"),
    "intake:mail_compose": NotRecords("a form; the recipient is checked on send"),
    "intake:mail_thread": NotRecords("a message id; covered by tests/intake_mail"),
    "intake:mail_attachment": NotRecords("an attachment id; covered by tests/intake_mail"),
    "intake:mail_contact_card": Detail("contacts"),
    "intake:chat_widget_js": Public("the website chat script"),
    "intake:chat_widget_config": Public("chat widget, keyed by the widget key"),
    "intake:chat_start": Public("chat widget, keyed by the widget key"),
    "intake:chat_send": Public("chat widget, keyed by the widget key + visitor token"),
    "intake:chat_poll": Public("chat widget, keyed by the widget key + visitor token"),
    "intake:chat_list": NotRecords("conversations; covered by tests/intake_chat"),
    "intake:chat_widgets": Settings(),
    "intake:chat_detail": NotRecords("a conversation id; covered by tests/intake_chat"),
    "intake:chat_messages": NotRecords("a conversation id; covered by tests/intake_chat"),
    "intake:chat_reply": NotRecords("a conversation id; covered by tests/intake_chat"),
    "intake:chat_close": NotRecords("a conversation id; covered by tests/intake_chat"),
    # --- settings: company structure and roles ------------------------------------------
    "settings:index": Settings(),
    "settings:departments": Settings(),
    "settings:department_create": Settings(("GET", "POST")),
    "settings:department_edit": Settings(("GET", "POST"), pk="department"),
    "settings:department_delete": Settings(("POST",), pk="department"),
    "settings:users": Settings(),
    "settings:user_create": Settings(("GET",)),
    "settings:user_edit": Settings(("GET",), pk="user"),
    "settings:roles": Settings(),
    "settings:role_create": Settings(("GET",)),
    "settings:role_edit": Settings(("GET",), pk="role"),
    "settings:role_delete": Settings(("POST",), pk="role"),
    "role-list": Settings(),
    "role-detail": Settings(pk="role"),
    "user-access": Settings(pk="user"),
    # --- audit ----------------------------------------------------------------------------
    "audit:list": Settings(),
    "audit:record": Detail("contacts"),
    # --- accounts -------------------------------------------------------------------------
    "home": Public("redirects to My day"),
    "accounts:login": Public("sign-in"),
    "accounts:logout": Public("sign-out"),
    "accounts:password_reset": Public("password reset by e-mail"),
    "accounts:password_reset_done": Public("password reset by e-mail"),
    "accounts:password_reset_confirm": Public("password reset link (signed token)"),
    "accounts:password_reset_complete": Public("password reset by e-mail"),
    "accounts:password_change": Own("the signed-in user's password"),
    "accounts:password_change_done": Own("the signed-in user's password"),
    "accounts:profile": Own("the signed-in user's profile"),
    "accounts:api_token": Own("the signed-in user's API token"),
    "accounts:language": Own("the signed-in user's language"),
    "accounts:two_factor": Own("the signed-in user's 2FA device"),
    "accounts:two_factor_verify": Own("the signed-in user's 2FA code"),
    "accounts:sessions_end_others": Own("the signed-in user's sessions"),
    "set_language": Public("Django's language switch"),
    # --- API ------------------------------------------------------------------------------
    "me": Own("the signed-in user"),
    "user-list": Reference("the user directory (names and departments) to pick owners"),
    "user-detail": Reference("the user directory"),
    "department-list": Reference("the company structure: read by all, written by settings"),
    "department-detail": Reference("the company structure"),
    "contact-list": List("contacts", methods=("GET", "POST")),
    "contact-detail": Write("contacts", ("GET", "PATCH", "PUT", "DELETE")),
    "company-list": List("companies", methods=("GET", "POST")),
    "company-detail": Write("companies", ("GET", "PATCH", "PUT", "DELETE")),
    "tag-list": Reference("tag names"),
    "tag-detail": Reference("tag names"),
    "customfield-list": Reference("custom field definitions (settings write them)"),
    "customfield-detail": Reference("custom field definitions"),
    "lead-list": List("leads", methods=("GET", "POST")),
    "lead-detail": Write("leads", ("GET", "PATCH", "PUT", "DELETE")),
    "lead-convert": Write("leads"),
    "pipeline-list": Reference("pipelines"),
    "pipeline-detail": Reference("pipelines"),
    "stage-list": Reference("stages"),
    "stage-detail": Reference("stages"),
    "lostreason-list": Reference("lost reasons"),
    "lostreason-detail": Reference("lost reasons"),
    "deal-list": List("deals", methods=("GET", "POST")),
    "deal-detail": Write("deals", ("GET", "PATCH", "PUT", "DELETE")),
    "deal-move": Write("deals"),
    "dealline-list": List("deals"),
    "dealline-detail": NotRecords("a deal line id; reached through its deal (deal-detail)"),
    "product-list": Reference("the product catalogue"),
    "product-detail": Reference("the product catalogue"),
    "pricelist-list": Reference("price lists"),
    "pricelist-detail": Reference("price lists"),
    "pricelistitem-list": Reference("price list items"),
    "pricelistitem-detail": Reference("price list items"),
    "order-list": List("orders", methods=("GET", "POST")),
    "order-detail": Write("orders", ("GET", "PATCH", "PUT", "DELETE")),
    "order-cancel": Write("orders"),
    "activity-list": List("activities", methods=("GET", "POST")),
    "activity-detail": Write("activities", ("GET", "PATCH", "PUT", "DELETE")),
    "followup-list": List("tasks", methods=("GET", "POST")),
    "followup-detail": Write("tasks", ("GET", "PATCH", "PUT", "DELETE")),
    "followup-cancel": Write("tasks"),
    "followup-complete": Write("tasks"),
    "notification-list": Own("the user's own notifications"),
    "notification-detail": Own("the user's own notification", pk="notification"),
    "notification-read": Own("the user's own notification", pk="notification"),
    "my-day": Own("the signed-in user's own day"),
    "import-list": Own("imports belong to their uploader"),
    "import-detail": Own("an import job of its uploader", pk="import"),
    "import-errors": Own("an import job of its uploader", pk="import"),
    "merge-list": NotRecords("merges; covered by tests/dataquality_merge"),
    "merge-detail": NotRecords("merges; covered by tests/dataquality_merge"),
    "merge-undo": NotRecords("merges; covered by tests/dataquality_merge"),
    "duplicate-list": NotRecords("pairs; covered by tests/dataquality_dedup"),
    "duplicate-detail": NotRecords("pairs; covered by tests/dataquality_dedup"),
    "duplicate-dismiss": NotRecords("pairs; covered by tests/dataquality_dedup"),
    "quality-api": NotRecords("aggregates of the visible base"),
    "mailbox-list": Settings(),
    "mailbox-detail": NotRecords("a mailbox id; covered by tests/intake_mail"),
    "mail-message-list": NotRecords("messages; covered by tests/intake_mail"),
    "mail-message-detail": NotRecords("messages; covered by tests/intake_mail"),
    "intake-messages": Public("messenger webhook, signed by its key"),
    "conversation-list": NotRecords("conversations of visible clients; tests/intake/test_api"),
    "conversation-detail": NotRecords("a conversation id; covered by tests/intake/test_api"),
    "audit-list": Settings(),
    "audit-denials": Settings(),
    "api-schema": Public("the OpenAPI document"),
    "api-docs": Public("Swagger UI"),
}
SKIPPED_PREFIXES = ("admin/",)  # Django admin: its own staff permissions


# --- the world --------------------------------------------------------------------------


def _role(code, scope, *, edit=None):
    actions = ("view", "create", "edit", "delete", "export", "import")
    grants = {
        e: {a: (edit if edit and a in ("edit", "delete") else scope) for a in actions}
        for e in RECORD_ENTITIES
    }
    grants["products"] = {"view": "all"}
    return Role.objects.create(code=f"mx_{code}", name=code, grants=grants)


def _records(owner, mark, pipeline):
    company = company_create(actor=owner, name=f"{mark} Co", owner=owner)
    contact = contact_create(
        actor=owner, first_name=mark, last_name="Person", company=company, owner=owner
    )
    lead = sales.lead_create(actor=owner, title=f"{mark} lead", owner=owner)
    deal = sales.deal_create(
        actor=owner,
        title=f"{mark} deal",
        pipeline=pipeline,
        contact=contact,
        owner=owner,
        amount=Decimal("100"),
    )
    sales.deal_line_add(actor=owner, deal=deal, name=f"{mark} line", price="5")
    activity = activity_log(
        actor=owner, kind="note", subject=f"{mark} note", body=mark, contact=contact
    )
    task = followup_create(
        actor=owner,
        title=f"{mark} task",
        due_at=timezone.now() + timedelta(hours=1),
        assignee=owner,
        contact=contact,
    )
    order = sales.order_create(
        actor=owner, contact=contact, number=f"{mark}-1", amount=Decimal("10"), owner=owner
    )
    contact2 = contact_create(actor=owner, first_name=mark, last_name="Second", owner=owner)
    return {
        "contacts2": contact2,
        "contacts": contact,
        "companies": company,
        "leads": lead,
        "deals": deal,
        "activities": activity,
        "tasks": task,
        "orders": order,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at its end; each test
    runs in a savepoint of it (pytest-django's `db`), so writes never leak."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            dept_a = Department.objects.create(name="A")
            sub = Department.objects.create(name="A1", parent=dept_a)
            dept_b = Department.objects.create(name="B")
            from svyaz.accounts.roles import ensure_default_roles

            shipped = ensure_default_roles()
            roles = {
                "own": _role("own", "own"),
                "department": _role("department", "department"),
                "all": _role("all", "all"),
                "viewer": _role("viewer", "department", edit="own"),
                "none": Role.objects.create(code="mx_none", name="none", grants={}),
            }
            users = {}
            for name, dept, role in (
                ("own_a", dept_a, "own"),
                ("dept_a", dept_a, "department"),
                ("all_a", dept_a, "all"),
                ("viewer_a", dept_a, "viewer"),
                ("peer_a", dept_a, "own"),
                ("sub_a", sub, "own"),
                ("b_user", dept_b, "own"),
                ("nobody_a", dept_a, "none"),
            ):
                users[name] = User.objects.create(username=name, department=dept)
                users[name].roles.set([roles[role]])
            users["admin_role"] = User.objects.create(username="admin_role", department=dept_a)
            users["admin_role"].roles.set([shipped["administrator"]])
            pipeline = PipelineFactory(name="Matrix")
            records = {o: _records(users[o], MARK[o], pipeline) for o in OWNERS}
            yield {"users": users, "records": records, "pipeline": pipeline}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- routes -----------------------------------------------------------------------------


def _routes(patterns=None, prefix="", ns=""):
    if patterns is None:
        patterns = get_resolver().url_patterns
    for p in patterns:
        if isinstance(p, URLResolver):
            sub_ns = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            yield from _routes(p.url_patterns, prefix + str(p.pattern), sub_ns)
        elif isinstance(p, URLPattern):
            name = f"{ns}:{p.name}" if ns and p.name else (p.name or "")
            yield prefix + str(p.pattern), name


ROUTES = {
    name or route: route for route, name in _routes() if not route.startswith(SKIPPED_PREFIXES)
}


def test_every_route_is_in_the_matrix():
    missing = sorted(set(ROUTES) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(ROUTES))
    assert not missing, f"routes without an access-matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def _path(route: str, **values) -> str:
    """A concrete path for a route pattern (Django converters or DRF regexes)."""
    path = "/" + route
    path = re.sub(r"\^|\$", "", path)
    for key, value in values.items():
        path = re.sub(rf"\(\?P<{key}>[^)]*\)", str(value), path)  # DRF router regex
        path = re.sub(rf"<(?:\w+:)?{key}>", str(value), path)  # Django converter
    assert "<" not in path and "(?P" not in path, path
    return path.replace("\\.", ".")


_CLIENTS: dict[int, Client] = {}


@pytest.fixture(autouse=True)
def _fresh_clients():
    # Sessions live in each test's savepoint: clients never outlive a test.
    _CLIENTS.clear()
    yield
    _CLIENTS.clear()


def _client(user) -> Client:
    if user.pk not in _CLIENTS:
        c = Client(raise_request_exception=True)
        c.force_login(user)
        _CLIENTS[user.pk] = c
    return _CLIENTS[user.pk]


def _call(client, method, path, data=None):
    if method == "GET":
        return client.get(path)
    if path.startswith("/api/"):
        return getattr(client, method.lower())(path, data or {}, content_type="application/json")
    return client.post(path, data or {})


def _snapshot(obj):
    model = type(obj)
    row = (
        model.all_objects.filter(pk=obj.pk).values().first()
        if hasattr(model, "all_objects")
        else model.objects.filter(pk=obj.pk).values().first()
    )
    return row


def _markers(body: str) -> set[str]:
    return {o for o, m in MARK.items() if m in body}


# Write payloads: enough to pass validation when the write were allowed, so a 403/404 is
# the access layer's answer, not a form error.
def _payload(entity, obj, world):
    stage = world["pipeline"].stages.order_by("position").last()
    return {
        "title": "changed",
        "first_name": "changed",
        "name": "changed",
        "subject": "changed",
        "stage": stage.pk,
        "status": "done",
        "description": "changed",
        "due_at": (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
    }


CASES = sorted(
    (name, check.kind)
    for name, check in MATRIX.items()
    if check.kind not in ("public", "reference", "notrecords")
)


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[c[0] for c in CASES])
def test_route_respects_scopes(name, kind, world, db):
    check = MATRIX[name]
    route = ROUTES[name]
    users, records = world["users"], world["records"]
    if kind == "list":
        for viewer, allowed in VISIBLE.items():
            response = _client(users[viewer]).get(_path(route) + check.query)
            assert response.status_code == 200, (name, viewer, response.status_code)
            body = response.content.decode("utf-8", "replace")
            assert _markers(body) == allowed, (name, viewer, _markers(body))
        if "POST" in check.methods:
            _check_create(name, route, check, users)
    elif kind in ("detail", "write"):
        for method in check.methods:
            for viewer, allowed in VISIBLE.items():
                for owner in OWNERS:
                    obj = records[owner][check.entity]
                    if method != "GET" and owner in allowed:
                        continue  # allowed writes are the area tests' business
                    before = _snapshot(obj)
                    response = _call(
                        _client(users[viewer]),
                        method,
                        _url(route, check, obj, records, owner),
                        _payload(check.entity, obj, world),
                    )
                    want = 200 if owner in allowed else 404
                    got = response.status_code
                    if method == "GET" and want == 200:
                        assert got < 400, (name, viewer, owner, got)
                    else:
                        assert got == want, (name, method, viewer, owner, got)
                    assert _snapshot(obj) == before, (name, method, viewer, owner)
            if method != "GET" or kind == "write":
                # Visible but not editable: 403 and nothing changes.
                obj = records["peer_a"][check.entity]
                before = _snapshot(obj)
                response = _call(
                    _client(users["viewer_a"]),
                    method,
                    _url(route, check, obj, records, "peer_a"),
                    _payload(check.entity, obj, world),
                )
                if kind == "write" and not (method == "GET" and route.startswith("api/")):
                    assert response.status_code == 403, (name, method, response.status_code)
                assert _snapshot(obj) == before, (name, method)
    elif kind == "create":
        _check_create(name, route, check, users)
    elif kind == "settings":
        url = _settings_url(route, check, records)
        for method in check.methods:
            denied = _call(_client(users["own_a"]), method, url)
            assert denied.status_code in (403, 404), (name, method, denied.status_code)
            allowed = _call(_client(users["admin_role"]), method, url)
            assert allowed.status_code < 400, (name, method, allowed.status_code)
    elif kind == "own":
        _check_own(name, route, check, users)
    elif kind == "deleted_list":
        _check_deleted_list(route, users, records)
    elif kind == "bulk":
        _check_bulk(route, users, records)
    elif kind == "restore":
        _check_restore(route, users, records)
    else:  # pragma: no cover
        raise AssertionError(kind)


def _url(route, check, obj, records, owner):
    values = {"pk": obj.pk}
    if "line_pk" in route:
        values["line_pk"] = obj.lines.first().pk
    if "<slug:entity>" in route or "<str:entity>" in route:
        values["entity"] = type(obj)._meta.model_name
    if route.startswith("data/merge/"):
        other = records[owner]["contacts2"]
        return _path(route) + f"?entity=contact&a={obj.pk}&b={other.pk}"
    path = _path(route, **values) if "<" in route or "(?P" in route else _path(route)
    return path + check.query.format(pk=obj.pk)


def _check_create(name, route, check, users):
    """A role without the create grant cannot create (403, nothing written)."""
    model = ENTITY_MODEL[check.entity]
    before = model.all_objects.count()
    client = _client(users["nobody_a"])
    # An API list's GET is a read (an empty list for this role); its POST creates.
    methods = ("POST",) if route.startswith("api/") else check.methods
    for method in methods:
        payload = {"title": "x", "first_name": "x", "name": "x", "subject": "x", "kind": "note"}
        response = _call(client, method, _path(route), payload)
        assert response.status_code == 403, (name, method, response.status_code)
    assert model.all_objects.count() == before, name


def _settings_url(route, check, records):
    if "pk" in check.kwargs or "entity_pk" in check.kwargs:
        kind = check.kwargs.get("pk") or check.kwargs.get("entity_pk")
        if kind == "product":
            from tests.factories import ProductFactory

            return _path(route, pk=ProductFactory().pk)
        if kind == "webform":
            from svyaz.intake.models import WebForm

            form = WebForm.objects.create(name="Matrix form")
            return _path(route, pk=form.pk)
        if kind == "contact":
            return _path(route, entity="contact", pk=records["own_a"]["contacts"].pk)
        if kind == "department":
            return _path(route, pk=Department.objects.get(name="B").pk)
        if kind == "user":
            return _path(route, pk=User.objects.get(username="b_user").pk)
        if kind == "role":
            return _path(route, pk=Role.objects.create(code="mx_spare", name="Spare").pk)
    return _path(route)


def _own_object(kind, owner):
    from svyaz.core.models import SavedView
    from svyaz.followups.models import Notification

    if kind == "notification":
        return Notification.objects.create(user=owner, text="Zqx note")
    if kind == "saved_view":
        return SavedView.objects.create(user=owner, entity="contacts", name="v", query="")
    if kind == "import":
        from django.core.files.uploadedfile import SimpleUploadedFile

        from svyaz.dataquality.models import ImportJob

        return ImportJob.objects.create(
            user=owner,
            entity="contact",
            file_kind="csv",
            file=SimpleUploadedFile("people.csv", b"name;phone\nIvan;+79161234567\n"),
        )
    raise AssertionError(kind)


def _check_own(name, route, check, users):
    """Another user's object id is 404; no other owner's record marker leaks."""
    kind = check.kwargs.get("pk")
    if kind:
        theirs = _own_object(kind, users["b_user"])
        before = _plain_row(theirs)
        for method in ("GET", "POST"):
            response = _call(_client(users["own_a"]), method, _path(route, pk=theirs.pk))
            assert response.status_code in (404, 405), (name, method, response.status_code)
        assert _plain_row(theirs) == before, name
        mine = _own_object(kind, users["own_a"])
        response = _client(users["own_a"]).get(_path(route, pk=mine.pk))
        assert response.status_code < 500, (name, response.status_code)
        return
    response = _client(users["own_a"]).get(_path(route, **check.kwargs))
    assert response.status_code < 500, (name, response.status_code)
    if response.status_code == 200 and response.get("Content-Type", "").startswith(
        ("text/html", "application/json")
    ):
        assert _markers(response.content.decode("utf-8", "replace")) <= {"own_a"}, name


def _plain_row(obj):
    return type(obj).objects.filter(pk=obj.pk).values().first()


def _check_deleted_list(route, users, records):
    """The recycle bin lists exactly the deleted records the user may see."""
    from svyaz.core.services import record_soft_delete

    for owner in OWNERS:  # fresh copies: the module's objects must stay untouched
        record_soft_delete(actor=None, obj=Contact.objects.get(pk=records[owner]["contacts"].pk))
    for viewer, allowed in VISIBLE.items():
        body = _client(users[viewer]).get(_path(route)).content.decode()
        assert _markers(body) == allowed, ("recycle_bin", viewer, _markers(body))


def _check_bulk(route, users, records):
    """Bulk actions touch only what the user may edit: others' ids are skipped."""
    theirs = [records[o]["contacts"] for o in ("peer_a", "sub_a", "b_user")]
    before = [_snapshot(o) for o in theirs]
    client = _client(users["viewer_a"])
    client.post(
        _path(route, entity="contacts"),
        {"action": "add_tag", "value": "mx", "ids": [o.pk for o in theirs]},
    )
    client.post(
        _path(route, entity="contacts"),
        {"action": "delete", "ids": [o.pk for o in theirs], "confirm": "1"},
    )
    assert [_snapshot(o) for o in theirs] == before
    assert not any(o.tags.filter(name="mx").exists() for o in theirs)


def _check_restore(route, users, records):
    """Restoring from the recycle bin: out of scope 404, visible-not-deletable 403."""
    from svyaz.core.services import record_soft_delete

    for owner in ("peer_a", "b_user"):
        record_soft_delete(actor=None, obj=Contact.objects.get(pk=records[owner]["contacts"].pk))
    peer, b = records["peer_a"]["contacts"], records["b_user"]["contacts"]
    path_b = _path(route, entity="contact", pk=b.pk)
    assert _client(users["own_a"]).post(path_b).status_code == 404
    path_peer = _path(route, entity="contact", pk=peer.pk)
    assert _client(users["viewer_a"]).post(path_peer).status_code == 403
    assert Contact.all_objects.get(pk=peer.pk).deleted_at is not None
    assert Contact.all_objects.get(pk=b.pk).deleted_at is not None
