from __future__ import annotations

import pytest

from svyaz.dataquality import services
from tests.dataquality.conftest import csv_bytes


def _job(actor, upload, n_bad=1):
    rows = [["Имя", "Телефон"], ["Анна", "+79161234567"]] + [["Бад", "12"]] * n_bad
    job = services.import_upload(actor=actor, entity="contact", upload=upload(csv_bytes(rows)))
    services.import_set_mapping(
        actor=actor, job=job, mapping=job.mapping, mode="create", key_field=""
    )
    services.import_start(actor=actor, job=job)
    return services.import_run(job_id=job.pk)


def test_it_lists_and_shows_own_imports(api_client, manager, outsider, upload):
    job = _job(manager, upload)
    _job(outsider, upload)
    data = api_client.get("/api/v1/imports/").json()
    assert [j["id"] for j in data["results"]] == [job.pk]
    detail = api_client.get(f"/api/v1/imports/{job.pk}/").json()
    assert (detail["status"], detail["percent"], detail["created"], detail["errors"]) == (
        "done",
        100,
        1,
        1,
    )
    errors = api_client.get(f"/api/v1/imports/{job.pk}/errors/").json()["results"]
    assert errors[0]["row"] == 3 and errors[0]["column"] == "Телефон"
    assert api_client.get("/api/v1/imports/?status=running").json()["results"] == []


def test_another_users_import_is_404(api_client, outsider, upload):
    job = _job(outsider, upload)
    assert api_client.get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/imports/{job.pk}/errors/").status_code == 404


@pytest.mark.parametrize("count", [1, 5])
def test_query_counts_do_not_grow(api_client, manager, upload, django_assert_num_queries, count):
    for _ in range(count):
        _job(manager, upload)
    job = _job(manager, upload, n_bad=count)
    with django_assert_num_queries(2):
        api_client.get("/api/v1/imports/")
    with django_assert_num_queries(3):
        api_client.get(f"/api/v1/imports/{job.pk}/errors/")
