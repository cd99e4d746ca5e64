"""The import wizard walked in Chromium: upload a Windows-1251 file separated by semicolons,
map (the guesses preselected), preview, run with the progress bar moving to 100 %, download
the error report. Screenshots of the mapping and the report land in test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.conftest import url
from svyaz.contacts.models import Contact
from svyaz.dataquality.models import ImportJob
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def anna(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Small chunks, one per poll: the bar visibly moves through several values.
    settings.SVYAZ_IMPORT_CHUNK_ROWS = 5
    settings.SVYAZ_IMPORT_STEP_SECONDS = 0
    from svyaz.accounts.models import Role

    # Importing needs the "import" grant (issue #3): the manager role plus an importer one.
    importer = Role.objects.create(
        code="importer", name="Importer", grants={"contacts": {"import": "own"}}
    )
    return UserFactory(
        username="anna", first_name="Anna", last_name="Petrova", roles=["manager", importer]
    )


def _cp1251_file(tmp_path):
    lines = ["Фамилия;Имя;Моб. телефон;E-mail;Город"]
    for i in range(22):
        lines.append(f"Иванов{i};Иван;8 916 100-00-{i:02d};ivan{i}@example.com;Москва")
    lines.append("Плохой;Номер;12;bad@example.com;Тверь")
    lines.append("Без;Почты;;не-почта;Тверь")
    path = tmp_path / "клиенты.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def test_import_wizard_cp1251_semicolon(anna, live_server, page, login, screenshot, tmp_path):
    login(page, anna)
    page.goto(url(live_server, "dataquality:import_upload"))
    page.select_option("#id_entity", "contact")
    page.set_input_files("#id_file", str(_cp1251_file(tmp_path)))
    page.locator("#import-upload-form button[type=submit]").click()

    page.wait_for_url("**/mapping/")
    expect(page.locator("[data-encoding]")).to_have_text("cp1251")
    expect(page.locator("[data-delimiter]")).to_have_attribute("data-delimiter", ";")
    expect(page.locator("select[data-header='Фамилия']")).to_have_value("last_name")
    expect(page.locator("select[data-header='Моб. телефон']")).to_have_value("phone")
    expect(page.locator("select[data-header='E-mail']")).to_have_value("email")
    page.select_option("#id_mode", "upsert")
    page.select_option("#id_key_field", "email")
    page.fill("#id_template_name", "Old Excel")
    screenshot(page, "import-mapping")
    page.locator("#to-preview").click()

    page.wait_for_url("**/preview/")
    expect(page.locator("#import-preview tbody tr")).to_have_count(20)
    assert Contact.objects.count() == 0
    page.locator("#run-import").click()

    bar = page.locator("#import-progress")
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = int(bar.get_attribute("aria-valuenow") or 0)
        if not seen or seen[-1] != value:
            seen.append(value)
        if page.locator("#import-status").get_attribute("data-status") == "done":
            break
        time.sleep(0.1)
    expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    # The status may turn "done" between reading the bar and reading the status:
    # record the bar's final value read after "done" was seen.
    final = int(bar.get_attribute("aria-valuenow") or 0)
    if seen[-1] != final:
        seen.append(final)
    assert seen[-1] == 100 and len([v for v in seen if 0 < v < 100]) >= 2, seen

    expect(page.locator("[data-count=created]")).to_have_text("22")
    expect(page.locator("[data-count=errors]")).to_have_text("2")
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    screenshot(page, "import-report")

    with page.expect_download() as info:
        page.locator("#download-errors").click()
    report = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert "Row,Column,Reason" in report
    assert "24,Моб. телефон" in report and "25,E-mail" in report
    job = ImportJob.objects.get()
    assert (job.created, job.errors, job.status) == (22, 2, "done")
