"""The list filters' owner and tag selects (issue #6): their choices are read once per
request as a plain list (no server-side cursor; the active users shared with the bulk
bar's owner select), a submitted owner or tag is checked against that list instead of by
a query of its own, and the selects are rendered in Python: the same HTML as Django's
widgets, and the same page as the template gave (header links, bulk bar)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils.translation import gettext_lazy

from svyaz.contacts.filters import ContactFilter, FastSelect
from svyaz.contacts.lists import contact_list_spec
from svyaz.contacts.models import Contact
from svyaz.core.lists import header_html
from svyaz.core.models import Tag
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("contacts:contact_list")


def select(html: str, name: str) -> str:
    match = re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S)
    assert match, name
    return match.group(0)


def options(select_html: str) -> list[tuple[str, str]]:
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html)


def test_the_owner_select_lists_the_active_users_in_name_order(manager, teammate, manager_client):
    UserFactory(username="gone", first_name="Zed", last_name="Aaronson", is_active=False)
    UserFactory(username="plain", first_name="", last_name="")  # no name: the username
    html = manager_client.get(LIST).content.decode()
    owner = options(select(html, "owner"))
    from svyaz.accounts.models import User

    expected = [(str(u.pk), str(u)) for u in User.objects.filter(is_active=True)]
    assert owner == [("", "---------"), *expected]
    assert ("", "plain") not in owner and any(label == "plain" for _pk, label in owner)
    assert not any(label == "Zed Aaronson" for _pk, label in owner)
    bulk = re.search(r'<select [^>]*x-ref="owner"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert options(f"<select>{bulk}</select>") == expected  # the bulk bar: the same users


def test_user_names_are_escaped_in_both_selects(manager_client):
    UserFactory(username="x", first_name="<b>Ann</b>", last_name="&Co")
    html = manager_client.get(LIST).content.decode()
    assert "<b>Ann</b>" not in html
    assert html.count("&lt;b&gt;Ann&lt;/b&gt; &amp;Co") == 2


def test_a_submitted_owner_is_checked_without_a_query_of_its_own(
    manager, teammate, head, client, make_contact, django_assert_num_queries
):
    make_contact(first_name="A")
    b = make_contact(actor=teammate, first_name="B")
    client.force_login(head)
    client.get(LIST)
    with django_assert_num_queries(11) as plain:
        client.get(LIST)
    with django_assert_num_queries(len(plain.captured_queries)):
        response = client.get(LIST, {"owner": teammate.pk})
    assert [obj.pk for obj, _cells in response.context["rows"]] == [b.pk]
    assert f'<option value="{teammate.pk}" selected>' in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "999999", " ", "1.5", "-1"])
def test_a_wrong_owner_is_refused_as_before(manager, manager_client, make_contact, value):
    make_contact()
    response = manager_client.get(LIST, {"owner": value})
    assert response.status_code == 200
    filterset = response.context["filterset"]
    if value.strip():
        assert "owner" in filterset.errors
    assert len(response.context["rows"]) == 1  # an invalid filter filters nothing


def test_an_inactive_owner_is_refused(manager, manager_client, make_contact):
    gone = UserFactory(username="gone", is_active=False)
    make_contact()
    response = manager_client.get(LIST, {"owner": gone.pk})
    assert "owner" in response.context["filterset"].errors


def test_the_tag_filter_checks_against_the_tags_read_for_the_select(manager_client, make_contact):
    a = make_contact(first_name="A", tags="vip")
    make_contact(first_name="B", tags="<опт>")
    vip = Tag.objects.get(name="vip")
    response = manager_client.get(LIST, {"tag": vip.pk})
    assert [obj.pk for obj, _cells in response.context["rows"]] == [a.pk]
    tags = options(select(response.content.decode(), "tag"))
    assert tags == [("", "---------"), (str(Tag.objects.get(name="<опт>").pk), "&lt;опт&gt;"),
                    (str(vip.pk), "vip")]  # fmt: skip
    assert "tag" in manager_client.get(LIST, {"tag": 0}).context["filterset"].errors


def test_the_filter_form_outside_a_page_still_validates_by_query(manager, teammate):
    """Without a request (or in the API's filter sets) the owner is checked by get()."""
    data = {"owner": str(teammate.pk)}
    filterset = ContactFilter(data, queryset=Contact.objects.all())
    assert filterset.is_valid() and filterset.form.cleaned_data["owner"] == teammate
    assert not ContactFilter({"owner": "0"}, queryset=Contact.objects.all()).is_valid()


def test_the_api_filters_by_owner_as_before(api_client, manager, teammate, make_contact):
    make_contact(first_name="A")
    response = api_client.get("/api/v1/contacts/", {"owner": manager.pk})
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    assert api_client.get("/api/v1/contacts/", {"owner": "abc"}).status_code == 400


@pytest.mark.parametrize(
    ("choices", "value", "attrs"),
    [
        ([("", "---------"), ("a", "A"), ("b", "B & <b>")], "b", {"class": "form-select"}),
        ([("", "—"), ("1", gettext_lazy("Lead")), ("1", "dup")], "1", {"id": "id_x"}),
        # (flatatt's order, as before: key="value" pairs sorted, then the boolean ones)
        ([("x", "X")], None, {"data-x": 'q"uote', "required": True}),
        ([("g", [("1", "one"), ("2", "two")]), ("3", "three")], "2", {}),
    ],
)
def test_the_fast_select_renders_what_djangos_select_renders(choices, value, attrs):
    def norm(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip()).replace("\n", "")

    ours = FastSelect(choices=choices).render("name", value, attrs=attrs)
    django = forms.Select(choices=choices).render("name", value, attrs=attrs)
    assert norm(ours) == norm(django)


@pytest.mark.parametrize(
    ("query", "sort"),
    [("", "name"), ("sort=-created&page=3&q=a%26b", "-created"), ("owner=1&sort=x", "")],
)
def test_the_column_headings_are_what_the_template_rendered(manager, query, sort):
    old = Template(
        "{% load svyaz %}{% for c in columns %}<th>{% if c.sort %}"
        '<a class="text-decoration-none" hx-get="?{% if sort == c.key %}'
        "{% query_replace sort='-'|add:c.key page=None %}{% else %}"
        '{% query_replace sort=c.key page=None %}{% endif %}" hx-target="#list-table" hx-swap="outerHTML" '
        'hx-push-url="true" href="?{% if sort == c.key %}'
        "{% query_replace sort='-'|add:c.key page=None %}{% else %}"
        '{% query_replace sort=c.key page=None %}{% endif %}">{{ c.label }}'
        "{% if sort == c.key %} ▲{% elif sort == '-'|add:c.key %} ▼{% endif %}</a>"
        "{% else %}{{ c.label }}{% endif %}</th>{% endfor %}"
    )
    request = RequestFactory().get(f"/clients/contacts/?{query}")
    columns = contact_list_spec.all_columns(manager, [])
    expected = old.render(Context({"columns": columns, "sort": sort, "request": request}))
    assert header_html(columns, sort, request.GET) == expected
