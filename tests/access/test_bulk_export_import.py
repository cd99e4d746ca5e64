"""Bulk actions, exports and imports respect the role grants (issue #3): bulk actions touch
only what the user may change and say how many they skipped; an export needs the export
grant and holds only the rows within its scope; an import needs the import grant and
updates only records within the edit scope."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from svyaz.accounts.models import Role
from svyaz.contacts.models import Contact
from svyaz.core.errors import PermissionDenied
from svyaz.dataquality import services as imports
from svyaz.dataquality.models import ImportJob, ImportStatus
from tests.access.conftest import api_as, page_as, row
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _messages(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


# --- bulk -----------------------------------------------------------------------------


def test_bulk_tagging_skips_records_not_yours_and_says_so(
    seeing_manager, teammate, outsider, make, denials
):
    mine = make("contacts", seeing_manager)
    theirs = make("contacts", teammate)  # visible (department viewer), not editable
    foreign = make("contacts", outsider)  # not even visible
    response = page_as(seeing_manager).post(
        reverse("core:bulk", args=["contact"]),
        {"action": "add_tag", "value": "vip", "ids": [mine.pk, theirs.pk, foreign.pk]},
    )
    assert response.status_code == 302
    assert "1 changed, 2 not yours" in _messages(response)
    assert list(mine.tags.values_list("name", flat=True)) == ["vip"]
    assert not theirs.tags.exists() and not foreign.tags.exists()
    for obj in (theirs, foreign):
        assert denials.find(user=seeing_manager, entity="contacts", action="edit", obj_id=obj.pk)


def test_bulk_delete_needs_the_delete_scope(seeing_manager, teammate, make, denials):
    mine, theirs = make("deals", seeing_manager), make("deals", teammate)
    before = row(theirs)
    response = page_as(seeing_manager).post(
        reverse("core:bulk", args=["deal"]), {"action": "delete", "ids": [mine.pk, theirs.pk]}
    )
    assert "1 changed, 1 not yours" in _messages(response)
    assert row(mine)["deleted_at"] is not None
    assert row(theirs) == before
    assert denials.find(user=seeing_manager, entity="deals", action="delete", obj_id=theirs.pk)


def test_bulk_with_nothing_of_yours_changes_nothing(seeing_manager, teammate, make):
    theirs = make("tasks", teammate)
    before = row(theirs)
    response = page_as(seeing_manager).post(
        reverse("core:bulk", args=["followup"]),
        {"action": "assign_owner", "value": seeing_manager.pk, "ids": [theirs.pk]},
    )
    assert "Nothing changed: 1 record(s) are not yours" in _messages(response)
    assert row(theirs) == before


def test_a_head_bulk_edits_the_department(head, manager, teammate, make):
    a, b = make("contacts", manager), make("contacts", teammate)
    response = page_as(head).post(
        reverse("core:bulk", args=["contact"]),
        {"action": "add_tag", "value": "q3", "ids": [a.pk, b.pk]},
    )
    assert "2 record(s) changed" in _messages(response)


# --- export ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_list_export_without_the_grant_is_403(fmt, dept_viewer_role, manager, make, denials):
    viewer = UserFactory(roles=[dept_viewer_role], department=manager.department)
    make("contacts", manager)
    response = page_as(viewer).get(reverse("contacts:contact_list") + f"?export={fmt}")
    assert response.status_code == 403
    assert denials.find(user=viewer, entity="contacts", action="export")


def test_list_export_holds_only_the_rows_of_the_export_scope(seeing_manager, teammate, make):
    make("contacts", seeing_manager, name="Mine")
    make("contacts", teammate, name="Theirs")
    client = page_as(seeing_manager)
    page = client.get(reverse("contacts:contact_list")).content.decode()
    assert "Theirs" in page  # the department viewer role shows it …
    response = client.get(reverse("contacts:contact_list") + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Mine" in body and "Theirs" not in body  # … but the export grant is "own"


def test_a_head_exports_the_department(head, manager, teammate, make):
    make("deals", manager, name="Deal of Anna")
    make("deals", teammate, name="Deal of Boris")
    response = page_as(head).get(reverse("sales:deal_list") + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Deal of Anna" in body and "Deal of Boris" in body


def test_vcards_follow_the_export_grant(seeing_manager, teammate, dept_viewer_role, make):
    mine = make("contacts", seeing_manager, name="Mine")
    theirs = make("contacts", teammate, name="Theirs")
    client = page_as(seeing_manager)
    body = client.get(reverse("dataquality:contacts_vcard")).content.decode()
    assert "Mine" in body and "Theirs" not in body
    body = client.get(
        reverse("dataquality:contacts_vcard") + f"?ids={mine.pk}&ids={theirs.pk}"
    ).content.decode()
    assert "Mine" in body and "Theirs" not in body
    assert client.get(reverse("dataquality:contact_vcard", args=[theirs.pk])).status_code == 403
    assert client.get(reverse("dataquality:contact_vcard", args=[mine.pk])).status_code == 200
    viewer = UserFactory(roles=[dept_viewer_role], department=seeing_manager.department)
    assert page_as(viewer).get(reverse("dataquality:contacts_vcard")).status_code == 403


# --- import ---------------------------------------------------------------------------


def _csv(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", ("\r\n".join(rows) + "\r\n").encode())


def test_import_without_the_grant_is_403_everywhere(manager, denials):
    with pytest.raises(PermissionDenied):
        imports.import_upload(actor=manager, entity="contact", upload=_csv("Name", "Ann"))
    client = page_as(manager)
    assert client.get(reverse("dataquality:import_upload")).status_code == 403
    response = client.post(
        reverse("dataquality:import_upload"), {"entity": "contact", "file": _csv("Name", "A")}
    )
    assert response.status_code == 403
    response = api_as(manager).post(
        "/api/v1/imports/", {"entity": "contact", "file": _csv("Name", "A")}, format="multipart"
    )
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    assert denials.find(user=manager, entity="contacts", action="import")


def test_the_upload_page_offers_only_the_entities_a_role_imports(roles, db):
    marketer = UserFactory(roles=["marketer"])
    response = page_as(marketer).get(reverse("dataquality:import_upload"))
    assert response.status_code == 200
    offered = {k for k, _label in response.context["entities"]}
    assert offered == {"contact", "company", "lead"}
    response = page_as(marketer).post(
        reverse("dataquality:import_upload"), {"entity": "deal", "file": _csv("Title", "D")}
    )
    assert response.status_code == 403


def test_an_update_import_changes_only_records_in_the_edit_scope(manager, teammate, make):
    importer = Role.objects.create(
        code="importer", name="Importer", grants={"contacts": {"import": "own"}}
    )
    manager.roles.add(importer)
    mine = Contact.objects.get(pk=make("contacts", manager).pk)
    theirs = make("contacts", teammate)
    from svyaz.contacts.services import contact_update

    contact_update(actor=None, contact=mine, data={"emails": ["mine@example.com"]})
    contact_update(actor=None, contact=theirs, data={"emails": ["theirs@example.com"]})
    job = imports.import_upload(
        actor=manager,
        entity="contact",
        upload=_csv(
            "First name;Email;Position",
            "Ivan;mine@example.com;Boss",
            "Ivan;theirs@example.com;Boss",
        ),
    )
    mapping = {str(i): k for i, k in enumerate(["first_name", "email", "job_title"])}
    job = imports.import_set_mapping(
        actor=manager, job=job, mapping=mapping, mode="update", key_field="email"
    )
    imports.import_start(actor=manager, job=job)
    job = imports.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert (job.updated, job.errors) == (1, 1)
    assert Contact.objects.get(pk=mine.pk).job_title == "Boss"
    assert Contact.objects.get(pk=theirs.pk).job_title == ""
    assert "access" in job.row_errors.get().message
