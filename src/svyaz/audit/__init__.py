"""The audit trail: who changed which field of which record, when, and through what.

Rows are written automatically by model signals (svyaz.audit.capture) for every business
model; writes that send no signals (queryset.update(), bulk_create()) call
`record_bulk(...)`. The source of a change (page, api, import, job, automation, system)
comes from the context: `from svyaz.audit.context import audit_source`.
"""


def record_bulk(*args, **kwargs):
    """See svyaz.audit.services.record_bulk (imported lazily: this package loads early)."""
    from svyaz.audit.services import record_bulk as _record_bulk

    return _record_bulk(*args, **kwargs)


def record_event(*args, **kwargs):
    """See svyaz.audit.services.record_event."""
    from svyaz.audit.services import record_event as _record_event

    return _record_event(*args, **kwargs)
