"""timeline_page (plain SQL, no scope check) gives the rows timeline_for (the ORM, scoped)
gives, page by page, filtered by kind, for contacts, companies and deals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from svyaz.core.models import TimelineEntry
from svyaz.core.selectors import timeline_for
from svyaz.core.timeline import timeline_page
from svyaz.sales.models import Deal

pytestmark = pytest.mark.django_db


def _rows(entries) -> list[tuple]:
    return [
        (
            *(getattr(e, f.attname) for f in TimelineEntry._meta.concrete_fields),
            str(e.actor) if e.actor else None,
        )
        for e in entries
    ]


@pytest.fixture
def history(manager, teammate, rich, pipeline):
    contact, company = rich
    deal = Deal.objects.filter(contact=contact, owner=manager).first()
    start = timezone.now() - dt.timedelta(days=3)
    kinds = ["activity", "order", "stage", "change"]
    for i in range(30):
        TimelineEntry.objects.create(
            kind=kinds[i % 4],
            actor=[manager, teammate, None][i % 3],
            title=f"E{i}",
            body="x" * i,
            data={"changes": [{"label": "a", "old": i, "new": None}]} if i % 5 == 0 else {},
            contact=contact,
            company=company if i % 3 else None,
            deal=deal if i % 2 == 0 else None,
            # some rows share a time: the id breaks the tie
            occurred_at=start + dt.timedelta(minutes=i // 2),
        )
    return {"contact": contact, "company": company, "deal": deal}


@pytest.mark.parametrize("subject", ["contact", "company", "deal"])
@pytest.mark.parametrize("kinds", [[], ["stage"], ["activity", "order"]])
def test_it_reads_what_timeline_for_reads(manager, history, subject, kinds):
    pk = history[subject].pk
    scoped = list(timeline_for(user=manager, kinds=kinds, **{subject: pk}))
    assert len(scoped) > 3
    for offset, limit in ((0, 21), (2, 5), (len(scoped) - 1, 21), (len(scoped), 21)):
        page = timeline_page(subject=subject, pk=pk, kinds=kinds, offset=offset, limit=limit)
        assert _rows(page) == _rows(scoped[offset : offset + limit])


def test_it_refuses_an_unknown_subject():
    with pytest.raises(ValueError):
        timeline_page(subject="owner", pk=1)


def test_the_htmx_timeline_still_checks_the_scope(client, outsider, manager_client, history):
    url = reverse("core:timeline")
    contact = history["contact"]
    assert manager_client.get(url, {"contact": contact.pk}).status_code == 200
    client.force_login(outsider)
    assert client.get(url, {"contact": contact.pk}).status_code == 404
    assert client.get(url, {"deal": history["deal"].pk, "page": 2}).status_code == 404
