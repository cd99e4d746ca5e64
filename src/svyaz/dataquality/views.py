"""Pages of the import wizard (upload → mapping → preview → run with progress → report,
undo, history) and the vCard export. Thin: services write, the job is the user's own.

Embedded mode (no Celery broker): the import advances while its progress page polls —
each poll (an HTMX POST every second) runs chunks for up to SVYAZ_IMPORT_STEP_SECONDS and
answers with the progress partial. No thread outlives a request, nothing assumes one
process, and an import interrupted by a restart resumes at its next unfinished chunk when
the page is opened again. With a broker, a Celery worker runs it and the poll only reads.
"""

from __future__ import annotations

import csv
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.core.lists import neutralize
from svyaz.dataquality import services
from svyaz.dataquality.fields import fields_for
from svyaz.dataquality.models import (
    ImportEntity,
    ImportJob,
    ImportKey,
    ImportMode,
    ImportStatus,
    MappingTemplate,
)

log = logging.getLogger(__name__)
ERRORS_SHOWN = 200


def _job_get(request, pk: int) -> ImportJob:
    """The user's own import (an administrator sees every import), else 404."""
    qs = ImportJob.objects.select_related("user")
    if not request.user.is_superuser:
        qs = qs.filter(user=request.user)
    job = qs.filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@login_required
def import_list(request):
    qs = ImportJob.objects.select_related("user")
    if not request.user.is_superuser:
        qs = qs.filter(user=request.user)
    return render(request, "dataquality/import_list.html", {"jobs": qs[:100]})


@login_required
def import_upload(request):
    from svyaz.core.scoping import can

    errors: dict[str, list[str]] = {}
    # Only what a role of the user lets them import (issue #3); nothing at all → 403.
    entities = [
        (k, label)
        for k, label in ImportEntity.choices
        if can(request.user, services.IMPORT_GRANT.get(k, k), "import")
    ]
    if not entities:
        services.require_import(request.user, ImportEntity.CONTACT)  # logs, raises → 403
    entity = request.POST.get("entity") or request.GET.get("entity") or entities[0][0]
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors["file"] = [_("Choose a file.")]
        else:
            try:
                job = services.import_upload(actor=request.user, entity=entity, upload=upload)
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                return redirect("dataquality:import_mapping", job.pk)
    context = {"errors": errors, "entity": entity, "entities": entities}
    return render(request, "dataquality/import_upload.html", context, status=400 if errors else 200)


def _mapping_context(request, job: ImportJob, mapping: dict, errors: dict) -> dict:
    sample = []
    for row in services.job_rows(job):
        sample.append(row.cells)
        if len(sample) >= 3:
            break
    columns = [
        {
            "index": i,
            "header": h,
            "field": mapping.get(str(i), ""),
            "samples": [r[i] for r in sample if i < len(r)],
        }
        for i, h in enumerate(job.headers)
    ]
    return {
        "job": job,
        "columns": columns,
        "fields": fields_for(job.entity),
        "modes": ImportMode.choices,
        "keys": [
            (k, label)
            for k, label in ImportKey.choices
            if not k or k in services.KEYS_FOR[job.entity]
        ],
        "mode": request.POST.get("mode") or job.mode,
        "key_field": request.POST.get("key_field", job.key_field),
        "templates": MappingTemplate.objects.filter(owner=request.user, entity=job.entity),
        "errors": errors,
        "delimiter_label": {";": ";", ",": ",", "\t": _("tab")}.get(job.delimiter, job.delimiter),
    }


@login_required
def import_mapping(request, pk: int):
    job = _job_get(request, pk)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.PREVIEWED):
        return redirect("dataquality:import_detail", job.pk)
    errors: dict[str, list[str]] = {}
    mapping = job.mapping
    if request.method == "GET" and request.GET.get("template"):
        template = MappingTemplate.objects.filter(
            owner=request.user, entity=job.entity, pk=request.GET["template"]
        ).first()
        if template is not None:
            mapping = services.mapping_from_template(job, template)
    if request.method == "POST":
        mapping = {str(i): request.POST.get(f"col_{i}", "") for i in range(len(job.headers))}
        try:
            job = services.import_set_mapping(
                actor=request.user,
                job=job,
                mapping=mapping,
                mode=request.POST.get("mode", ""),
                key_field=request.POST.get("key_field", ""),
            )
            if request.POST.get("template_name", "").strip():
                services.mapping_template_save(
                    actor=request.user, job=job, name=request.POST["template_name"]
                )
                messages.success(request, _("Mapping template saved."))
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("dataquality:import_preview", job.pk)
    context = _mapping_context(request, job, mapping, errors)
    return render(
        request, "dataquality/import_mapping.html", context, status=400 if errors else 200
    )


@login_required
def import_preview(request, pk: int):
    job = _job_get(request, pk)
    if job.status not in (ImportStatus.MAPPED, ImportStatus.PREVIEWED):
        return redirect("dataquality:import_detail", job.pk)
    preview = services.import_preview(job=job)
    labels = {f.key: f.label for f in fields_for(job.entity)}
    mapped = [
        (int(i), job.headers[int(i)], labels.get(k, k))
        for i, k in sorted(job.mapping.items(), key=lambda x: int(x[0]))
    ]
    rows = [
        {
            "number": p["row"].number,
            "cells": [p["row"].cells[i] if i < len(p["row"].cells) else "" for i, _h, _l in mapped],
            "problems": p["problems"],
            "outcome": p["outcome"],
        }
        for p in preview
    ]
    context = {
        "job": job,
        "mapped": mapped,
        "rows": rows,
        "bad": sum(1 for r in rows if r["problems"]),
    }
    return render(request, "dataquality/import_preview.html", context)


@login_required
@require_POST
def import_run(request, pk: int):
    job = _job_get(request, pk)
    try:
        services.import_start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("dataquality:import_detail", job.pk)


def _advance_embedded(job: ImportJob) -> ImportJob:
    return services.import_step(job)


@login_required
def import_detail(request, pk: int):
    """Progress while running (HTMX POST polls the `progress` partial), then the report."""
    job = _job_get(request, pk)
    if request.method == "POST":
        job = _advance_embedded(job)
    context = {
        "job": job,
        "row_errors": list(job.row_errors.all()[:ERRORS_SHOWN]),
        "errors_shown": ERRORS_SHOWN,
    }
    if request.htmx:
        return render(request, "dataquality/import_detail.html#progress", context)
    return render(request, "dataquality/import_detail.html", context)


class _Echo:
    def write(self, value):
        return value


@login_required
def import_errors_csv(request, pk: int):
    job = _job_get(request, pk)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow([_("Row"), _("Column"), _("Reason"), *job.headers])
        for e in job.row_errors.all().iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.row,
                    neutralize(e.column),
                    neutralize(e.message),
                    *(neutralize(c) for c in e.raw),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
@require_POST
def import_undo(request, pk: int):
    job = _job_get(request, pk)
    try:
        services.import_undo(actor=request.user, job=job)
        messages.success(request, _("The import was undone."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("dataquality:import_detail", job.pk)


@login_required
@require_POST
def import_resume(request, pk: int):
    return import_run(request, pk)


# --- vCard -------------------------------------------------------------------------------


@login_required
def contact_vcard(request, pk: int):
    from svyaz.contacts import selectors
    from svyaz.core.services import require_on
    from svyaz.dataquality.vcard import contacts_vcard

    contact = selectors.contact_get(user=request.user, pk=pk)
    require_on(request.user, "export", contact)  # visible but not exportable: 403, logged
    response = HttpResponse(contacts_vcard([contact]), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.vcf"'
    return response


@login_required
def contacts_vcard_export(request):
    """A selection (`ids`, repeated) or else the contacts list with its current filters."""
    from svyaz.contacts.lists import contact_list_spec
    from svyaz.core.access import require_export
    from svyaz.core.lists import bulk_targets, filtered_queryset
    from svyaz.dataquality.vcard import contacts_vcard

    ids = request.GET.getlist("ids") or request.POST.getlist("ids")
    if ids:
        qs = bulk_targets(request, contact_list_spec, ids).prefetch_related(
            "phones", "emails", "addresss", "memberships__company"
        )
    else:
        qs, *_rest = filtered_queryset(request, contact_list_spec)
    # Only the contacts the user may export; no export grant → 403 (logged).
    qs = require_export(request.user, qs)
    if not ids:
        qs = qs[: int(getattr(settings, "SVYAZ_VCARD_MAX", 5000))]
    response = HttpResponse(contacts_vcard(qs), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response


# --- completeness ------------------------------------------------------------------------


@login_required
def quality(request):
    """Per entity: the average completeness of the records the user sees and how many miss
    each important field (one aggregate query per entity)."""
    from svyaz.dataquality.completeness import base_completeness

    entities = base_completeness(request.user, fresh=bool(request.GET.get("refresh")))
    return render(request, "dataquality/quality.html", {"entities": entities})
