from __future__ import annotations

from typing import Any

import pytest

from svyaz.dataquality import services
from tests.dataquality.conftest import _media, csv_bytes, upload, xlsx_bytes  # noqa: F401


def run_import(
    actor,
    make_upload,
    rows: list[list[Any]],
    *,
    entity: str,
    mode: str = "create",
    key: str = "",
    name: str = "f.csv",
    mapping: dict[str, str] | None = None,
):
    """Upload, map (the guessed mapping unless given), run to the end."""
    content = xlsx_bytes(rows) if name.endswith(".xlsx") else csv_bytes(rows)
    job = services.import_upload(actor=actor, entity=entity, upload=make_upload(content, name))
    job = services.import_set_mapping(
        actor=actor, job=job, mapping=mapping or job.mapping, mode=mode, key_field=key
    )
    services.import_start(actor=actor, job=job)
    return services.import_run(job_id=job.pk)


def errors_by_row(job) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for e in job.row_errors.all():
        out.setdefault(e.row, []).append((e.column, e.message))
    return out


@pytest.fixture
def lost_reasons(db):
    from svyaz.sales.models import LostReason

    return {
        "expensive": LostReason.objects.create(name="Too expensive", position=0),
        "other": LostReason.objects.create(name="Other", position=9),
    }


@pytest.fixture(autouse=True)
def _no_completeness_cache(settings):
    settings.SVYAZ_COMPLETENESS_CACHE_SECONDS = 0  # count every time (a test turns it on)


@pytest.fixture(autouse=True)
def _managers_may_import(db):
    """The shipped manager role does not import; here it may (own scope), and it keeps the
    product catalogue (products have no owner: create/edit all). The role is patched before
    any user gets it; ensure_default_roles never overwrites an existing role."""
    from svyaz.accounts.roles import ensure_default_roles

    role = ensure_default_roles()["manager"]
    grants = dict(role.grants)
    for entity in ("companies", "contacts", "leads", "deals", "activities", "orders"):
        grants[entity] = {**grants.get(entity, {}), "import": "own"}
    grants["products"] = {"view": "all", "create": "all", "edit": "all", "import": "all"}
    role.grants = grants
    role.save()
