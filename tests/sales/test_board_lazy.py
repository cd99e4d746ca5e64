"""Lazy board columns (issue #6, round 2 of speed work): each stage opens with its newest
BOARD_FIRST_CARDS cards; "show more" (HTMX) appends the next ones with the same filters
and scope, and brings the column's footer back out of band."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from svyaz.sales import selectors
from svyaz.sales import services as s

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_FIRST_CARDS", 2)
    monkeypatch.setattr(selectors, "BOARD_CARDS_PER_STAGE", 2)


def _more_url(html: str, stage_id: int) -> str:
    found = re.search(rf'hx-get="([^"]*more_stage={stage_id}[^"]*)"', html)
    assert found, "no show-more button"
    return found[1].replace("&amp;", "&")


def test_it_opens_columns_with_the_first_cards_and_loads_the_rest(
    manager_client, manager, pipeline, stages, small_pages
):
    deals = [s.deal_create(actor=manager, title=f"Deal {i}", pipeline=pipeline) for i in range(5)]
    new = stages["New"]
    r = manager_client.get(reverse("sales:board"))
    html = r.content.decode()
    col = next(c for c in r.context["columns"] if c.stage == new)
    assert col.count == 5 and len(col.cards) == 2 and col.more == 3
    shown = set(re.findall(r'data-deal-id="(\d+)"', html))
    url = _more_url(html, new.pk)

    r = manager_client.get(url, HTTP_HX_TARGET=f"cards-{new.pk}", **HTMX)
    part = r.content.decode()
    assert r.status_code == 200 and "<html" not in part
    more = re.findall(r'data-deal-id="(\d+)"', part)
    assert len(more) == 2 and not shown & set(more)
    assert f'id="more-{new.pk}"' in part and 'hx-swap-oob="true"' in part

    r = manager_client.get(_more_url(part, new.pk), HTTP_HX_TARGET=f"cards-{new.pk}", **HTMX)
    last = r.content.decode()
    assert len(re.findall(r'data-deal-id="(\d+)"', last)) == 1
    assert "more_stage" not in last  # the end of the column: no more button
    seen = shown | set(more) | set(re.findall(r'data-deal-id="(\d+)"', last))
    assert seen == {str(d.pk) for d in deals}


def test_show_more_keeps_the_filters_and_the_scope(
    client, manager, teammate, head, outsider, pipeline, stages, small_pages
):
    for i in range(3):
        s.deal_create(actor=manager, title=f"Mine {i}", pipeline=pipeline)
        s.deal_create(actor=teammate, title=f"Theirs {i}", pipeline=pipeline)
    new = stages["New"]
    client.force_login(head)
    html = client.get(reverse("sales:board"), {"owner": manager.pk}).content.decode()
    url = _more_url(html, new.pk)
    assert f"owner={manager.pk}" in url
    part = client.get(url, **HTMX).content.decode()
    assert "Mine" in part and "Theirs" not in part

    client.force_login(outsider)  # the same URL shows nothing out of scope
    part = client.get(url, **HTMX).content.decode()
    assert "data-deal-id" not in part


def test_show_more_answers_404_for_a_stage_of_another_pipeline(manager_client, pipeline):
    url = reverse("sales:board")
    r = manager_client.get(url, {"pipeline": pipeline.pk, "more_stage": "999999", "offset": "2"})
    assert r.status_code == 404
