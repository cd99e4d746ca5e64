"""The log of refused accesses (issue #3: "every denial is logged").

    from svyaz.audit.denials import log_denial

    log_denial(user=user, entity="deals", action="edit", obj_id=deal.pk, reason="scope own")

Each call logs a warning to the "svyaz.security" logger at once and keeps a row in
AccessDenial. The row is written when the request (or job, or `audit_source` block) ends:
a denial usually aborts a transaction, and the row must not be rolled back with it.
Outside any audit context it is written immediately.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from svyaz.audit.context import AuditContext, _context, current

log = logging.getLogger("svyaz.security")


def _user_of(user) -> Any:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "_wrapped", user)


def log_denial(
    *,
    user,
    entity: str,
    action: str,
    obj_id: Any = None,
    request=None,
    reason: str = "",
) -> None:
    ctx = _context.get()
    if request is None and ctx is not None:
        request = ctx.request
    person = _user_of(user)
    row = {
        "at": timezone.now(),
        "user_id": person.pk if person is not None else None,
        "user_name": str(person)[:255] if person is not None else "",
        "method": (getattr(request, "method", "") or "")[:10],
        "path": (getattr(request, "path", "") or "")[:255],
        "entity": str(entity)[:32],
        "action": str(action)[:32],
        "object_id": "" if obj_id is None else str(obj_id)[:64],
        "reason": str(reason)[:500],
        "source": current().source,
        "request_id": ctx.request_id[:64] if ctx is not None else "",
    }
    log.warning(
        "access denied: user=%s (%s) action=%s entity=%s id=%s %s %s reason=%s",
        row["user_id"],
        row["user_name"] or "anonymous",
        row["action"],
        row["entity"],
        row["object_id"] or "-",
        row["method"],
        row["path"],
        row["reason"],
    )
    if ctx is not None:
        ctx.denials.append(row)
    else:
        _write([row])


def flush(ctx: AuditContext) -> None:
    rows, ctx.denials[:] = list(ctx.denials), []
    if rows:
        _write(rows)


def _write(rows: list[dict[str, Any]]) -> None:
    from svyaz.audit.models import AccessDenial

    try:
        with transaction.atomic():
            AccessDenial.objects.bulk_create(AccessDenial(**r) for r in rows)
    except DatabaseError:  # the warning is logged; never turn a 403 into a 500
        log.exception("could not store %d access denial(s)", len(rows))
