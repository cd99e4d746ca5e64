"""REST API: POST /api/v1/merges/ (201, 400 with field errors, 404 out of scope),
POST /api/v1/merges/<id>/undo/, and the scoped list with a pinned query count."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from svyaz.dataquality import merge as merging
from svyaz.dataquality.models import Merge
from tests.dataquality_merge.conftest import snapshot
from tests.factories import ContactFactory

URL = "/api/v1/merges/"


def _body(pair, **extra):
    return {"entity": "contact", "survivor": pair["a"].pk, "other": pair["b"].pk, **extra}


def test_it_merges_with_201(api_client, pair):
    response = api_client.post(URL, _body(pair, choices={"job_title": "other"}), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["survivor"] == pair["a"].pk and data["other"] == pair["b"].pk
    assert data["choices"]["job_title"] == "other"
    assert data["survivor_before"]["job_title"] == "Manager"
    assert data["moved_rows"] == len(data["moved"]) > 10
    assert data["undone_at"] is None
    pair["a"].refresh_from_db()
    assert pair["a"].job_title == "Director"


def test_it_undoes_and_refuses_a_second_undo(api_client, pair):
    merge_id = api_client.post(URL, _body(pair), format="json").json()["id"]
    response = api_client.post(f"{URL}{merge_id}/undo/")
    assert response.status_code == 200
    assert response.json()["undone_at"] is not None
    again = api_client.post(f"{URL}{merge_id}/undo/")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This merge was already undone."]}


def test_bad_input_is_400_with_field_errors_and_nothing_written(api_client, pair):
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    cases = [
        ({"entity": "deal", "survivor": 1, "other": 2}, "entity"),
        ({"entity": "contact", "survivor": "x", "other": 2}, "survivor"),
        ({"entity": "contact", "survivor": pair["a"].pk}, "other"),
        (_body(pair, other=pair["a"].pk), "other"),
        (_body(pair, choices={"job_title": "both"}), "choices"),
        (_body(pair, choices={"nickname": "other"}), "choices"),
    ]
    for body, field in cases:
        response = api_client.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before
    assert not Merge.objects.exists()


def test_a_record_already_merged_is_400(api_client, pair, manager):
    third = ContactFactory(owner=manager)
    assert api_client.post(URL, _body(pair), format="json").status_code == 201
    response = api_client.post(URL, _body(pair, survivor=third.pk), format="json")
    assert response.status_code == 400
    assert "was already merged into" in response.json()["other"][0]


def test_an_outsider_gets_404(pair, outsider):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(outsider)
    assert client.post(URL, _body(pair), format="json").status_code == 404
    assert not Merge.objects.exists()


def test_the_list_is_scoped_filtered_and_has_a_constant_query_count(
    api_client, manager, outsider, pair
):
    def list_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = api_client.get(URL, {"entity": "contact", "ordering": "-created_at"})
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()

    merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    one, data = list_queries()
    assert data["count"] == 1
    for _i in range(3):
        x, y = ContactFactory(owner=manager), ContactFactory(owner=manager)
        merging.merge_records(actor=manager, entity="contact", survivor_id=x.pk, other_id=y.pk)
    many, data = list_queries()
    assert data["count"] == 4
    assert many == one
    assert api_client.get(URL, {"undone": "true"}).json()["count"] == 0
    assert api_client.get(URL, {"search": "Petrov"}).json()["count"] == 1
    theirs_a, theirs_b = ContactFactory(owner=outsider), ContactFactory(owner=outsider)
    merging.merge_records(
        actor=outsider, entity="contact", survivor_id=theirs_a.pk, other_id=theirs_b.pk
    )
    assert api_client.get(URL).json()["count"] == 4
