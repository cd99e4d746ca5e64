from __future__ import annotations

import pytest

from svyaz.audit.models import AuditEntry


class Since:
    """The audit rows written after this point (optionally filtered)."""

    def __init__(self):
        self.last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def rows(self, **filters) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(id__gt=self.last, **filters).order_by("id"))

    def fields(self, **filters) -> list[str]:
        return [r.field for r in self.rows(**filters)]


@pytest.fixture
def since(db):
    """`mark = since()` … `mark.rows(object_id=deal.pk)`."""
    return Since


@pytest.fixture
def auditor(db):
    """The read-only Auditor role: it may read the audit trail (settings/view)."""
    from tests.factories import UserFactory

    return UserFactory(
        username="auditor",
        first_name="Irina",
        last_name="Audit",
        department=None,
        roles=["auditor"],
    )
