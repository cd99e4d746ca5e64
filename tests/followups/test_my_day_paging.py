"""A busy day: each My day section shows its first rows and a "Show more" link that
brings the next ones by HTMX (or, without JavaScript, reloads with the whole section)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from svyaz.followups import services
from svyaz.followups.views import MY_DAY_PAGE
from tests.followups.conftest import msk

NOW = msk(2026, 3, 10, 8, 0)
URL = reverse("followups:my_day")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def busy_day(make_task):
    """MY_DAY_PAGE + 5 tasks due today, one a minute from 09:00."""
    return [
        make_task(title=f"Task {i:02d}", due_at=msk(2026, 3, 10, 9) + timedelta(minutes=i))
        for i in range(MY_DAY_PAGE + 5)
    ]


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="section-{section_id}"')[1].split('id="section-')[0]


def _ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-followup-id="(\d+)"', html)]


def _more_url(html: str) -> str:
    return unescape(re.search(r'hx-get="([^"]+)"', html).group(1))


def test_it_shows_the_first_page_of_a_section_and_its_total(manager_client, busy_day):
    html = manager_client.get(URL).content.decode()
    section = _section(html, "due-today")
    assert _ids(section) == [t.pk for t in busy_day[:MY_DAY_PAGE]]
    assert "data-section-total>30<" in section
    assert "Show more (5 left)" in section
    assert f'href="{URL}?all=due_today"' in section


def test_show_more_brings_the_next_rows_by_htmx(manager_client, busy_day):
    page = manager_client.get(URL).content.decode()
    more = manager_client.get(_more_url(_section(page, "due-today")), HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    html = more.content.decode()
    assert _ids(html) == [t.pk for t in busy_day[MY_DAY_PAGE:]]
    assert "Show more" not in html and "<html" not in html


def test_rows_done_meanwhile_shift_nothing(manager, manager_client, busy_day):
    page = manager_client.get(URL).content.decode()
    for task in busy_day[:3]:  # completed on the page before "Show more"
        services.followup_complete(actor=manager, followup=task)
    html = manager_client.get(
        _more_url(_section(page, "due-today")), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert _ids(html) == [t.pk for t in busy_day[MY_DAY_PAGE:]]


def test_without_javascript_the_link_shows_the_whole_section(manager_client, busy_day):
    html = manager_client.get(URL, {"all": "due_today"}).content.decode()
    assert _ids(_section(html, "due-today")) == [t.pk for t in busy_day]
    assert "Show more" not in html


def test_the_link_keeps_the_chosen_day(manager_client, make_task):
    for i in range(MY_DAY_PAGE + 1):
        make_task(title=f"T{i}", due_at=msk(2026, 3, 12, 9) + timedelta(minutes=i))
    html = manager_client.get(URL, {"date": "2026-03-12"}).content.decode()
    url = _more_url(_section(html, "due-today"))
    assert url.startswith(f"{URL}?date=2026-03-12&section=due_today&after=")
    rows = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert len(_ids(rows)) == 1


def test_a_wrong_cursor_or_section_falls_back(manager_client, busy_day):
    first = manager_client.get(
        URL, {"section": "due_today", "after": "yesterday"}, HTTP_HX_REQUEST="true"
    )
    assert first.status_code == 200
    assert _ids(first.content.decode()) == [t.pk for t in busy_day[:MY_DAY_PAGE]]
    bogus = manager_client.get(URL, {"section": "secrets", "all": "secrets"})
    assert bogus.status_code == 200 and "<html" in bogus.content.decode()


def test_show_more_reads_only_the_users_own_rows(client, outsider, manager_client, busy_day):
    page = manager_client.get(URL).content.decode()
    client.force_login(outsider)
    html = client.get(
        _more_url(_section(page, "due-today")), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert _ids(html) == []


def test_show_more_pins_its_queries(manager_client, make_task, busy_day):
    page = manager_client.get(URL).content.decode()
    url = _more_url(_section(page, "due-today"))

    def add(n, hour):
        for i in range(n):
            make_task(title=f"Later {i}", due_at=msk(2026, 3, 10, hour) + timedelta(minutes=i))

    add(MY_DAY_PAGE - 4, 18)  # a full page and one more after the cursor
    manager_client.get(url, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as few:
        manager_client.get(url, HTTP_HX_REQUEST="true")
    add(40, 20)
    with CaptureQueriesContext(connection) as many:
        html = manager_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert len(_ids(html)) == MY_DAY_PAGE and "Show more (41 left)" in html
    assert len(many.captured_queries) == len(few.captured_queries)
    # The page of rows and how many are left: one statement.
    assert sum("followups_followup" in q["sql"] for q in many.captured_queries) == 1
