from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from svyaz.core.errors import NotFound
from svyaz.core.models import TimelineEntry, TimelineKind
from svyaz.core.selectors import timeline_for
from svyaz.core.timeline import timeline_add

pytestmark = pytest.mark.django_db
URL = reverse("core:timeline")


def add_entries(n, **subject):
    start = timezone.now() - dt.timedelta(days=1)
    for i in range(n):
        kind = TimelineKind.ACTIVITY if i % 2 else TimelineKind.ORDER
        timeline_add(
            kind=kind, title=f"E{i}", occurred_at=start + dt.timedelta(minutes=i), **subject
        )


def test_it_reads_a_subjects_timeline_newest_first(manager, make_contact):
    contact = make_contact()
    add_entries(3, contact=contact)
    titles = [e.title for e in timeline_for(user=manager, contact=contact)]
    assert titles == ["Contact created", "E2", "E1", "E0"]


def test_it_reads_the_timeline_in_one_query(manager, make_contact, django_assert_num_queries):
    contact = make_contact()
    add_entries(5, contact=contact)
    qs = timeline_for(user=manager, contact=contact.pk, kinds=["order"])
    with django_assert_num_queries(1):
        assert [e.kind for e in qs] == ["order"] * 3


def test_it_includes_company_rows_written_for_its_contacts(manager, make_contact, make_company):
    company = make_company()
    make_contact(company=company)
    titles = [e.title for e in timeline_for(user=manager, company=company)]
    assert titles == ["Contact created", "Company created"]


def test_it_refuses_a_subject_out_of_scope(outsider, make_contact):
    contact = make_contact()
    with pytest.raises(NotFound):
        timeline_for(user=outsider, contact=contact)
    with pytest.raises(NotFound):
        timeline_for(user=outsider)


def test_it_serves_the_partial_filtered_by_kind(manager_client, make_contact):
    contact = make_contact()
    add_entries(4, contact=contact)
    response = manager_client.get(
        URL, {"contact": contact.pk, "kind": "activity"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="timeline"')
    assert "E3" in html and "E1" in html and "E2" not in html and "Contact created" not in html


def test_it_pages_with_show_more(manager_client, make_contact):
    contact = make_contact()
    add_entries(25, contact=contact)  # + "Contact created" = 26 rows, 20 per page
    first = manager_client.get(URL, {"contact": contact.pk})
    assert len(first.context["timeline_entries"]) == 20 and first.context["timeline_has_next"]
    assert "Show more" in first.content.decode()
    second = manager_client.get(
        URL, {"contact": contact.pk, "page": 2}, headers={"HX-Request": "true"}
    )
    html = second.content.decode()
    assert html.count('class="timeline-entry"') == 6
    assert "<section" not in html and ">E0<" in html and "Show more" not in html


def test_it_answers_404_out_of_scope_or_without_subject(client, outsider, make_contact):
    contact = make_contact()
    client.force_login(outsider)
    assert client.get(URL, {"contact": contact.pk}).status_code == 404
    assert client.get(URL).status_code == 404
    assert client.get(URL, {"contact": "x"}).status_code == 404
    assert client.get(URL, {"company": 999999}).status_code == 404


def test_it_renders_field_changes(manager_client, manager, make_contact):
    from svyaz.contacts.services import contact_update

    contact = make_contact()
    contact_update(actor=manager, contact=contact, data={"job_title": "CEO"})
    html = manager_client.get(URL, {"contact": contact.pk}).content.decode()
    assert "job title" in html and "CEO" in html


def test_it_lets_other_cards_include_it_lazily(rf, manager):
    from django.template.loader import render_to_string

    html = render_to_string("svyaz/timeline.html", {"timeline_url": f"{URL}?deal=1"})
    assert f'hx-get="{URL}?deal=1"' in html and 'hx-trigger="load"' in html
    assert TimelineEntry.objects.count() == 0
