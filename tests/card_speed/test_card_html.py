"""The card's timeline entries and its deals / orders / tasks rows are rendered in Python:
the same markup as the template loops they replace (kept below as the reference), apart
from whitespace, in Russian and English, with the viewer's field rules; and the card's
query count does not grow with its rows."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import timezone, translation

from svyaz.accounts.models import Role
from svyaz.accounts.roles import ensure_default_roles
from svyaz.contacts import selectors
from svyaz.contacts.views import _related_html
from svyaz.core.field_rules import mask_timeline, template_context
from svyaz.core.models import TimelineEntry
from svyaz.core.views import _timeline_entries_html
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The loops of svyaz/timeline.html and contacts/_card_parts.html#related before they were
# rendered in Python.
TIMELINE_LOOP = """{% load i18n %}{% for entry in timeline_entries %}
    <li class="timeline-entry" data-kind="{{ entry.kind }}">
      <div class="d-flex gap-2 align-items-baseline flex-wrap">
        <span class="badge text-bg-light border">{{ entry.get_kind_display }}</span>
        <strong>{% if entry.actor %}<span class="timeline-actor">{{ entry.actor }}</span>: {% endif %}{% if entry.actor and entry.kind == "stage" %}{{ entry.title|slice:":1"|lower }}{{ entry.title|slice:"1:" }}{% else %}{{ entry.title }}{% endif %}</strong>
        {% if entry.data.email %}<a class="small timeline-mail-link" href="{% url 'intake:mail_thread' entry.data.email %}"><i class="bi bi-envelope"></i> {% translate "Open the thread" %}</a>{% endif %}
        <small class="text-muted ms-auto" title="{{ entry.occurred_at|date:'DATETIME_FORMAT' }}">{{ entry.occurred_at|date:"SHORT_DATETIME_FORMAT" }}</small>
      </div>
      {% if entry.data.changes %}
      <div class="small mt-1">
        {% for c in entry.data.changes %}<div><span class="text-muted">{{ c.label }}:</span> <del class="text-muted">{{ c.old|default:"—" }}</del> → {{ c.new|default:"—" }}</div>{% endfor %}
      </div>
      {% elif entry.body %}<div class="small text-body-secondary mt-1" style="white-space: pre-line">{{ entry.body|truncatechars:600 }}</div>{% endif %}
    </li>{% endfor %}"""  # noqa: E501

RELATED_LOOPS = """{% load svyaz %}{% for d in deals %}
    <li class="list-group-item d-flex justify-content-between"><a href="{% url 'sales:deal_detail' d.pk %}">{{ d.title }}</a><span><span class="badge text-bg-light border">{{ d.stage.name }}</span>{% if "amount" not in hidden.deals %} {{ d.amount|money:d.currency }}{% endif %}</span></li>
{% endfor %}|{% for o in orders %}
    <li class="list-group-item d-flex justify-content-between"><a href="{% url 'sales:order_detail' o.pk %}">{{ o }}</a><span>{{ o.ordered_at|date:"SHORT_DATE_FORMAT" }}{% if "amount" not in hidden.orders %} · {{ o.amount|money:o.currency }}{% endif %}</span></li>
{% endfor %}|{% for t in open_tasks %}
    <li class="list-group-item d-flex justify-content-between"><span>{{ t.title }}</span><span class="{% if t.is_overdue %}overdue{% endif %}">{{ t.due_at|date:"SHORT_DATETIME_FORMAT" }} · {{ t.assignee }}</span></li>
{% endfor %}"""  # noqa: E501


def _same(html: str) -> str:
    """Markup without the whitespace next to tags (what the loops' indentation adds)."""
    html = re.sub(r">\s+", ">", str(html))
    return re.sub(r"\s+<", "<", html).strip()


def _render(source: str, context: dict) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.fixture(params=[("ru", "Europe/Moscow"), ("en", "America/New_York")])
def locale(request):
    lang, zone = request.param
    with translation.override(lang), timezone.override(zoneinfo.ZoneInfo(zone)):
        yield lang


@pytest.fixture
def entries(manager, rich):
    contact, _company = rich
    now = timezone.now().replace(microsecond=0)
    long_body = "Длинный текст, é́ с комбинирующими знаками. " * 20 + "<конец>"
    rows = [
        ("stage", manager, "Stage: New → Won & <b>", "", {}),
        ("stage", None, "Stage: New → Lost", "Причина: дорого", {}),
        ("activity", manager, "Call <i>", long_body, {"email": 7}),
        ("activity", None, "Short body", "Строка 1\nСтрока 2 <script>", {}),
        (
            "change",
            manager,
            "Changed",
            "ignored when there are changes",
            {
                "changes": [
                    {"field": "job_title", "label": "job title", "old": "", "new": "CEO <b>"},
                    {"field": "x", "label": "number", "old": 1234.5, "new": None},
                    {"field": "y", "label": "list", "old": [1, 2], "new": 0},
                    {"field": "z"},
                    "not a dict",
                ],
            },
        ),  # fmt: skip
        ("order", None, "Order S-1: 100.00 RUB", "", ["not", "a", "dict"]),
        ("followup", manager, "Task", "", "a string"),
        ("weird", None, "", "", {"email": ""}),
        ("lead", manager, "Lead", "", None),
    ]
    for i, (kind, actor, title, body, data) in enumerate(rows):
        TimelineEntry.objects.create(
            kind=kind,
            actor=actor,
            title=title,
            body=body,
            data=data if data is not None else {},
            contact=contact,
            occurred_at=now - dt.timedelta(days=i * 40, minutes=i),
        )
    return list(TimelineEntry.objects.filter(contact=contact).select_related("actor"))


def test_it_renders_timeline_entries_as_the_template_did(locale, entries, manager):
    masked = mask_timeline(manager, entries)
    expected = _render(TIMELINE_LOOP, {"timeline_entries": masked})
    got = _timeline_entries_html(masked)
    assert _same(got) == _same(expected)
    assert "&lt;script&gt;" in got and "<script>" not in got
    assert reverse("intake:mail_thread", args=[7]) in got
    assert _timeline_entries_html([]) == ""


def test_it_renders_the_related_rows_as_the_template_did(locale, request, rich, sales_dept):
    contact, company = rich
    shipped = ensure_default_roles()["head_of_sales"]  # the department's records
    quiet = Role.objects.create(
        code="quiet",
        name="Quiet",
        grants=shipped.grants,
        field_rules={"deals": {"amount": "hidden"}, "orders": {"amount": "hidden"}},
    )
    quiet_user = UserFactory(roles=[quiet], department=sales_dept)
    viewers = [request.getfixturevalue(n) for n in ("manager", "head", "admin")] + [quiet_user]
    for user in viewers:
        for obj, card in ((contact, selectors.contact_card), (company, selectors.company_card)):
            loaded = card(user=user, pk=obj.pk)
            slow = selectors.client_related(user=user, **{obj._meta.model_name: obj})
            expected = _render(RELATED_LOOPS, {**slow, **template_context(user)})
            got = _related_html(user, loaded.card_related)
            assert _same(
                f"{got['deals_html']}|{got['orders_html']}|{got['open_tasks_html']}"
            ) == _same(expected), (user, obj)
            assert got["deals"] == loaded.card_related["deals"]  # the lists stay too
    hidden = _related_html(
        quiet_user, selectors.contact_card(user=quiet_user, pk=contact.pk).card_related
    )
    assert hidden["deals_html"] and "RUB" not in hidden["deals_html"] + hidden["orders_html"]


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_keeps_the_card_queries_few_and_constant(client, manager, rich):
    """7 on a manager's card (was 17): session, user, roles, the record, card_relations,
    the timeline, the unread notifications; the same with every block empty."""
    from svyaz.contacts.services import company_create, contact_create

    contact, company = rich
    client.force_login(manager)
    full = _queries(client, reverse("contacts:contact_detail", args=[contact.pk]))
    empty = contact_create(actor=manager, first_name="Пустой")
    assert full == _queries(client, reverse("contacts:contact_detail", args=[empty.pk])) == 7
    bare = company_create(actor=manager, name="Пустая")
    assert (
        _queries(client, reverse("contacts:company_detail", args=[company.pk]))
        == _queries(client, reverse("contacts:company_detail", args=[bare.pk]))
        == 7
    )
