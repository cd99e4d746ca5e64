"""My day's rows are written in Python (followups.rows.RowKit.render): escaped like the
template escaped them, dates formatted like Django's date filter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, translation

from svyaz.followups.rows import date_formatter
from tests.factories import ContactFactory
from tests.followups.conftest import msk

NOW = msk(2026, 3, 10, 15, 0)


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("name", ["SHORT_DATE_FORMAT", "DATE_FORMAT", "MONTH_DAY_FORMAT"])
def test_the_date_formatter_matches_djangos_date_filter(language, name):
    with translation.override(language):
        fmt = date_formatter(name)
        for offset in range(0, 800, 7):
            value = date(2025, 12, 28) + timedelta(days=offset)
            assert fmt(value) == formats.date_format(value, name)
        assert fmt(date(987, 1, 2)) == formats.date_format(date(987, 1, 2), name)


def test_a_row_escapes_what_users_typed(manager_client, manager, make_task):
    odd = ContactFactory(full_name="O'Neil & <Co>", owner=manager)
    nameless = ContactFactory(first_name="", last_name="", full_name="", owner=manager)
    make_task(
        title="<b>\"Call\" & 'ask'</b>",
        description="<script>alert(1)</script>",
        contact=odd,
        due_at=NOW + timedelta(hours=1),
    )
    make_task(title="Nameless", contact=nameless, due_at=NOW + timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        html = manager_client.get(reverse("followups:my_day")).content.decode()
    assert "&lt;b&gt;&quot;Call&quot; &amp; &#x27;ask&#x27;&lt;/b&gt;</a>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'<a href="/clients/contacts/{odd.pk}/">O&#x27;Neil &amp; &lt;Co&gt;</a>' in html
    assert f'<a href="/clients/contacts/{nameless.pk}/">—</a>' in html
