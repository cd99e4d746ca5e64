"""My day's first-response (SLA) timer, as the server renders it: the deadline and the
server's clock for the script, and a text that reads right without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
import time_machine
from django.urls import reverse

from svyaz.followups.rows import duration_text, sla_text
from svyaz.intake.models import LeadIntake
from svyaz.sales.services import lead_create
from tests.followups.conftest import msk

NOW = msk(2026, 3, 10, 15, 0)


@pytest.fixture
def first_response(manager, make_task):
    """A web lead's first-response task, due at the SLA deadline (as intake makes it)."""

    def make(deadline, title="First response: Olga"):
        task = make_task(title=title, due_at=deadline, priority="high")
        lead = lead_create(actor=manager, title="Olga", channel="web", source="web_form")
        LeadIntake.objects.create(
            lead=lead,
            channel="web",
            received_at=deadline - timedelta(minutes=20),
            routed_to=manager,
            sla_due_at=deadline,
            first_response=task,
        )
        return task

    return make


def _row(html: str, pk: int) -> str:
    match = re.search(rf'<li [^>]*id="followup-{pk}".*?</li>', html, re.S)
    assert match, f"row {pk} not on the page"
    return match.group(0)


def _my_day(client) -> str:
    response = client.get(reverse("followups:my_day"))
    assert response.status_code == 200
    return response.content.decode()


def test_it_renders_the_time_left_with_the_deadline_and_the_servers_clock(
    manager_client, first_response
):
    deadline = NOW + timedelta(minutes=14)
    task = first_response(deadline)
    with time_machine.travel(NOW, tick=False):
        row = _row(_my_day(manager_client), task.pk)
    assert 'class="badge rounded-pill sla-timer"' in row  # neither "soon" nor "late" yet
    assert f'data-sla-deadline="{deadline.astimezone(UTC).isoformat()}"' in row
    assert f'data-server-now="{NOW.astimezone(UTC).isoformat()}"' in row
    assert '<span class="sla-text">14 min left</span>' in row
    assert "data-overdue" not in row and "overdue-row" not in row


def test_it_renders_overdue_by_once_the_deadline_has_passed(manager_client, first_response):
    task = first_response(NOW + timedelta(minutes=14))
    with time_machine.travel(NOW + timedelta(minutes=17, seconds=30), tick=False):
        row = _row(_my_day(manager_client), task.pk)
    assert "sla-timer sla-late" in row
    assert '<span class="sla-text">Overdue by 3 min</span>' in row
    # The red timer is the row's overdue badge: not a second "Overdue" next to it.
    assert "overdue-row" in row and row.count("data-overdue") == 1
    assert re.search(r'<span class="badge rounded-pill sla-timer sla-late"[^>]*data-overdue>', row)


def test_it_turns_the_timer_amber_in_the_last_minutes(manager_client, first_response):
    task = first_response(NOW + timedelta(minutes=4))
    with time_machine.travel(NOW, tick=False):
        row = _row(_my_day(manager_client), task.pk)
    assert "sla-timer sla-soon" in row and "4 min left" in row


def test_a_breached_sla_marks_the_row_overdue_even_if_the_task_was_moved(
    manager_client, first_response
):
    task = first_response(NOW - timedelta(minutes=5))
    task.due_at = NOW + timedelta(hours=2)  # rescheduled: the client still waits since then
    task.save()
    with time_machine.travel(NOW, tick=False):
        row = _row(_my_day(manager_client), task.pk)
    assert "Overdue by 5 min" in row and "overdue-row" in row


def test_other_tasks_have_no_timer(manager_client, make_task):
    task = make_task(title="Send the offer", due_at=NOW + timedelta(minutes=10))
    with time_machine.travel(NOW, tick=False):
        html = _my_day(manager_client)
    assert "data-sla-deadline" not in _row(html, task.pk)
    # The script is on the page all the same, with its texts in the page language.
    assert 'src="/static/followups/sla_timer.js"' in html
    assert 'data-text-left="{time} left"' in html
    assert 'data-text-overdue="Overdue by {time}"' in html


def test_a_done_first_response_leaves_my_day(manager, manager_client, first_response):
    from svyaz.followups.services import followup_complete

    task = first_response(NOW + timedelta(minutes=14))
    with time_machine.travel(NOW, tick=False):
        followup_complete(actor=manager, followup=task)
        html = _my_day(manager_client)
    assert f'data-followup-id="{task.pk}"' not in html and "data-sla-deadline" not in html


def test_the_error_row_of_a_failed_completion_keeps_its_markup(
    manager, manager_client, first_response
):
    from svyaz.followups.services import followup_cancel

    task = first_response(NOW + timedelta(minutes=14))
    with time_machine.travel(NOW, tick=False):
        followup_cancel(actor=manager, followup=task)
        response = manager_client.post(
            reverse("followups:followup_complete", args=[task.pk]),
            {"date": "2026-03-10"},
            HTTP_HX_REQUEST="true",
        )
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert reverse("followups:followup_complete", args=[task.pk]) in html


@pytest.mark.parametrize(
    ("left", "text", "late"),
    [
        (timedelta(minutes=14), "14 min left", False),
        (timedelta(seconds=20), "1 min left", False),  # never "0 min"
        (timedelta(hours=2, minutes=5), "2 h 5 min left", False),
        (timedelta(days=1, hours=3, minutes=59), "1 d 3 h left", False),
        (timedelta(0), "Overdue by 1 min", True),
        (-timedelta(minutes=3, seconds=59), "Overdue by 3 min", True),
        (-timedelta(hours=1), "Overdue by 1 h 0 min", True),
    ],
)
def test_it_words_the_time_left(left, text, late):
    assert sla_text(NOW + left, NOW) == (text, late)


def test_it_words_durations_in_minutes_hours_and_days():
    assert [duration_text(m) for m in (1, 59, 60, 61, 24 * 60 + 61)] == [
        "1 min",
        "59 min",
        "1 h 0 min",
        "1 h 1 min",
        "1 d 1 h",
    ]


def test_a_first_response_row_links_to_its_lead_and_other_rows_do_not(
    manager_client, first_response, make_task
):
    task = first_response(NOW + timedelta(minutes=14))
    plain = make_task(title="Send the offer", due_at=NOW + timedelta(minutes=30))
    lead = LeadIntake.objects.get(first_response=task).lead
    with time_machine.travel(NOW, tick=False):
        html = _my_day(manager_client)
    assert f'href="{reverse("sales:lead_detail", args=[lead.pk])}" data-lead-link' in _row(
        html, task.pk
    )
    assert "data-lead-link" not in _row(html, plain.pk)
