"""Celery jobs of data quality: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from svyaz.dataquality import services


@shared_task(name="svyaz.dataquality.tasks.import_run")
def import_run(job_id: int) -> str:
    """Run an import to its end. Redelivered after a worker is killed: chunks already
    committed are skipped (their ledger rows exist), the interrupted one runs again."""
    try:
        return services.import_run(job_id=job_id).status
    except Exception as exc:
        # A bug or a broken file must not leave the job "running" for ever; a killed
        # worker never gets here, and its redelivered message resumes the job.
        services.import_fail(job_id=job_id, message=str(exc))
        raise


@shared_task(name="svyaz.dataquality.tasks.duplicates_scan")
def duplicates_scan(entity: str | None = None) -> dict:
    """Scan the whole base for duplicates (periodic and on demand). Idempotent: a second
    run, or a redelivered message, leaves the same pairs."""
    from svyaz.dataquality.dedup.services import duplicates_scan as scan

    return scan(entity=entity)
