"""GET /api/v1/duplicates/ and POST /api/v1/duplicates/<id>/dismiss/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from svyaz.dataquality.dedup import services
from svyaz.dataquality.models import DuplicatePair, DuplicateStatus

pytestmark = pytest.mark.django_db
URL = "/api/v1/duplicates/"


@pytest.fixture
def scanned(twins, outsider_twins):
    services.duplicates_scan()
    return twins, outsider_twins


def test_it_lists_only_pairs_whose_both_records_the_user_sees(api_client, scanned):
    (a, b), _ = scanned
    response = api_client.get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["a_id"], r["b_id"]) for r in rows] == [(a.pk, b.pk)]
    row = rows[0]
    assert row["entity"] == "contact" and row["status"] == "open"
    assert row["a"]["title"] == "Щукин Юрий" and "+7 916 123-45-67" in row["b"]["phones"]
    assert row["reasons"]["phones"] == 1.0
    assert row["merge_url"].endswith(f"?entity=contact&a={a.pk}&b={b.pk}")


def test_it_filters_by_entity_status_and_score(api_client, scanned):
    assert len(api_client.get(URL, {"entity": "company"}).json()["results"]) == 0
    assert len(api_client.get(URL, {"status": "dismissed"}).json()["results"]) == 0
    assert (
        len(api_client.get(URL, {"min_score": "0.9", "entity": "contact"}).json()["results"]) == 1
    )


@pytest.mark.parametrize(
    "params",
    [
        {"entity": "deal"},
        {"status": "maybe"},
        {"min_score": "abc"},
        {"min_score": "1.5"},
        {"min_score": "-1"},
    ],
)
def test_it_answers_400_on_bad_filters(api_client, scanned, params):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert set(response.json()) & {"entity", "status", "min_score"}


def test_it_dismisses_and_remembers(api_client, scanned, manager):
    pair = DuplicatePair.objects.get(a_id=scanned[0][0].pk)
    response = api_client.post(f"{URL}{pair.pk}/dismiss/")
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    services.duplicates_scan()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert api_client.get(URL, {"status": "open"}).json()["results"] == []


def test_it_is_404_for_a_pair_out_of_scope(api_client, scanned):
    foreign = DuplicatePair.objects.get(a_id=scanned[1][0].pk)
    assert api_client.get(f"{URL}{foreign.pk}/").status_code == 404
    assert api_client.post(f"{URL}{foreign.pk}/dismiss/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == DuplicateStatus.OPEN


def test_it_refuses_dismissing_a_merged_pair(api_client, scanned):
    a, b = scanned[0]
    services.mark_merged(entity="contact", survivor_id=a.pk, other_id=b.pk)
    pair = DuplicatePair.objects.get(a_id=a.pk)
    # The merged-away record is still live here (mark_merged does not delete it).
    response = api_client.post(f"{URL}{pair.pk}/dismiss/")
    assert response.status_code == 400
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED


def test_it_needs_authentication(scanned):
    assert APIClient().get(URL).status_code in (401, 403)


def test_it_pins_the_query_count(api_client, manager, make_contact, django_assert_num_queries):
    make_contact(manager, first_name="Anna", last_name="Lee", phones=["+79161110000"])
    make_contact(manager, first_name="Anna", last_name="Lee", phones=["89161110000"])
    services.duplicates_scan()
    api_client.get(URL)  # warm caches (roles, content types)
    with django_assert_num_queries(8) as one:
        api_client.get(URL)
    for i in range(5):
        make_contact(
            manager, first_name="Boris", last_name=f"Orlov{'a' * i}", phones=[f"+7903000000{i}"]
        )
        make_contact(
            manager, first_name="Boris", last_name=f"Orlov{'a' * i}", phones=[f"8903000000{i}"]
        )
    services.duplicates_scan()
    with django_assert_num_queries(len(one.captured_queries)):
        rows = api_client.get(URL).json()["results"]
    assert len(rows) >= 6
