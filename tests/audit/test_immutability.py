"""No page, API or code path can edit or delete an audit row."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from svyaz.audit.models import AuditEntry, ImmutableError
from svyaz.contacts.services import contact_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(manager):
    contact_create(actor=manager, first_name="Olga")
    return AuditEntry.objects.filter(content_type__model="contact").first()


def test_a_row_cannot_be_saved_again(entry):
    entry.new_value = "forged"
    with pytest.raises(ImmutableError):
        entry.save()


def test_a_row_cannot_be_deleted(entry):
    with pytest.raises(ImmutableError):
        entry.delete()


def test_the_queryset_refuses_update_and_delete(entry):
    with pytest.raises(ImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(new_value="forged")
    with pytest.raises(ImmutableError):
        AuditEntry.objects.all().delete()
    with pytest.raises(ImmutableError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["new_value"])
    entry.refresh_from_db()
    assert entry.new_value == "Olga"


def test_deleting_a_user_keeps_their_rows_and_name(manager, entry):
    from tests.factories import UserFactory

    user = UserFactory(first_name="Temp", last_name="Worker", roles=[])
    from svyaz.audit.context import audit_source

    with audit_source("page", actor=user):
        contact_create(actor=manager, first_name="Pavel")
    rows = list(AuditEntry.objects.filter(actor=user))
    assert rows
    user.delete()
    for row in rows:
        row.refresh_from_db()
        assert row.actor_id is None and row.actor_name == "Temp Worker"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")
def test_postgresql_refuses_raw_update_and_delete(entry):
    def refused():
        return pytest.raises(DatabaseError, match="immutable")

    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET new_value = 'forged' WHERE id = %s", [entry.pk])
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    # Setting the actor to NULL is let through only when nothing else changes.
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET actor_id = NULL, actor_name = 'x' WHERE id = %s",
            [entry.pk],
        )
    entry.refresh_from_db()
    assert entry.new_value == "Olga"


def test_the_admin_is_read_only(client, admin, entry):
    client.force_login(admin)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    response = client.post(
        reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:audit_accessdenial_changelist")).status_code == 200
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_api_has_no_write_method(admin, entry):
    api = APIClient()
    api.force_authenticate(admin)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(api, method)("/api/v1/audit/", {}, format="json")
        assert response.status_code == 405, method
    assert AuditEntry.objects.filter(pk=entry.pk, new_value="Olga").exists()


def test_purging_records_and_users_never_needs_to_delete_audit_rows(manager, entry):
    """The row names the record by type and id, not by a foreign key: nothing cascades."""
    count = AuditEntry.objects.count()
    from svyaz.contacts.models import Contact

    Contact.all_objects.filter(pk=entry.object_id).get().delete()  # a purge
    assert AuditEntry.objects.count() == count + 1  # + the purge row, none removed
