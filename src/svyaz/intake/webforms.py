"""Web forms: receive (store first), validate, process into a lead (idempotent)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.core.custom_fields import clean_custom_values
from svyaz.core.phones import normalize_phone
from svyaz.intake.models import Submission, SubmissionStatus, WebForm
from svyaz.intake.regions import normalize_language, request_language, request_region
from svyaz.intake.services import UTM_KEYS, intake_lead_create
from svyaz.sales.models import Channel, Lead

log = logging.getLogger(__name__)

LEAD_TARGETS = ("title", "first_name", "last_name", "phone", "email", "company_name", "description")
# Not lead fields: what routing reads ("city/region": a name or a code; language: "ru"…).
ROUTING_TARGETS = ("region", "language")
CUSTOM_PREFIX = "custom:"
CONSENT_FIELD = "consent"
# Per IP and form: a person sends a handful; a flood is refused with 429.
RATE_LIMIT = 10
RATE_WINDOW_SECONDS = 600
MAX_VALUE_LENGTH = 5000
META_FIELDS = ("_referrer", "_landing_page", "_language", *(f"_{k}" for k in UTM_KEYS))


def form_fields(form: WebForm) -> list[dict[str, Any]]:
    """The form's field specs, with defaults filled in."""
    out = []
    for spec in form.fields or []:
        if not isinstance(spec, dict) or not spec.get("name"):
            continue
        target = spec.get("target") or spec["name"]
        out.append(
            {
                "name": str(spec["name"]),
                "label": spec.get("label") or str(spec["name"]).replace("_", " ").capitalize(),
                "target": target,
                "required": bool(spec.get("required")),
                "type": spec.get("type")
                or {"email": "email", "phone": "tel", "description": "textarea"}.get(
                    target, "text"
                ),
            }
        )
    return out


def fields_errors(fields) -> list[str]:
    """Messages for a malformed `fields` list (used by the admin form)."""
    if not isinstance(fields, list):
        return [_("Enter a list of fields.")]
    errors = []
    for spec in fields:
        if not isinstance(spec, dict) or not spec.get("name"):
            errors.append(_("Each field needs a “name”."))
            continue
        target = spec.get("target") or spec["name"]
        if (
            target not in LEAD_TARGETS
            and target not in ROUTING_TARGETS
            and not str(target).startswith(CUSTOM_PREFIX)
        ):
            errors.append(
                _("“%(t)s”: map to one of %(list)s or custom:<code>.")
                % {"t": target, "list": ", ".join((*LEAD_TARGETS, *ROUTING_TARGETS))}
            )
    return errors


def rate_limited(*, form: WebForm, ip: str | None) -> bool:
    """Count this request against the IP's budget; True when over it."""
    key = f"intake:rl:{form.pk}:{ip or 'unknown'}"
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        count = 1
    return count > RATE_LIMIT


def _utm_from_url(url: str) -> dict[str, str]:
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {k: query[k][0] for k in UTM_KEYS if query.get(k)}


@transaction.atomic
def submission_receive(
    *,
    form: WebForm,
    payload: dict[str, Any],
    ip: str | None = None,
    user_agent: str = "",
    http_referer: str = "",
    accept_language: str = "",
) -> Submission:
    """Store what arrived, as it arrived, before any check that could fail. The
    browser's language: `_language` (navigator.language, sent by the embed script), else
    the Accept-Language header."""
    payload = {str(k)[:100]: str(v)[:MAX_VALUE_LENGTH] for k, v in payload.items()}
    landing = payload.get("_landing_page") or http_referer
    utm = {k: payload[f"_{k}"] for k in UTM_KEYS if payload.get(f"_{k}")}
    if not utm and landing:
        utm = _utm_from_url(landing)
    return Submission.objects.create(
        form=form,
        payload=payload,
        ip=ip,
        user_agent=(user_agent or "")[:500],
        referrer=payload.get("_referrer", "")[:1000],
        landing_page=(landing or "")[:1000],
        utm=utm,
        language=request_language(given=payload.get("_language", ""), header=accept_language),
    )


def submission_validate(submission: Submission) -> dict[str, Any]:
    """→ {"fields": {...lead fields}, "custom": {...}, "routing": {"region": text,
    "language": code}} or ValidationError keyed by form field names (what the visitor
    sees)."""
    form = submission.form
    data = submission.payload
    errors: dict[str, list[str]] = {}
    fields: dict[str, str] = {}
    custom: dict[str, Any] = {}
    custom_names: dict[str, str] = {}
    routing: dict[str, str] = {}
    for spec in form_fields(form):
        name, target = spec["name"], spec["target"]
        raw = str(data.get(name, ""))
        # Free text keeps its line breaks; single-line fields lose stray whitespace.
        value = raw.strip() if target == "description" else " ".join(raw.split())
        if not value:
            if spec["required"]:
                errors[name] = [_("This field is required.")]
            continue
        if target in ROUTING_TARGETS:
            # A place or a language nobody knows is no error: routing just can't use it.
            routing[target] = value[:200] if target == "region" else normalize_language(value)
            continue
        limit = (
            None if target.startswith(CUSTOM_PREFIX) else Lead._meta.get_field(target).max_length
        )
        if limit and len(value) > limit and target != "title":
            errors[name] = [_("Ensure this value has at most %(n)d characters.") % {"n": limit}]
            continue
        if target == "email":
            try:
                validate_email(value)
            except ValidationError:
                errors[name] = [_("Enter a valid email address.")]
                continue
            value = value.lower()
        elif target == "phone":
            try:
                value = normalize_phone(value)
            except ValidationError as exc:
                errors[name] = exc.messages
                continue
        if target.startswith(CUSTOM_PREFIX):
            code = target[len(CUSTOM_PREFIX) :]
            custom[code] = value
            custom_names[code] = name
        elif target in fields:
            fields[target] += " " + value
        else:
            fields[target] = value
    if form.consent_text and str(data.get(CONSENT_FIELD, "")).lower() not in (
        "1",
        "on",
        "true",
        "yes",
    ):
        errors[CONSENT_FIELD] = [_("Please give your consent.")]
    if not fields.get("phone") and not fields.get("email") and not errors:
        errors["__all__"] = [_("Leave a phone number or an email so we can answer.")]
    if custom:
        try:
            custom = clean_custom_values("lead", custom, partial=True)
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                code = key.removeprefix("custom.")
                errors[custom_names.get(code, key)] = msgs
    if errors:
        raise ValidationError(errors)
    return {"fields": fields, "custom": custom, "routing": routing}


def submission_mark_invalid(submission: Submission, errors: dict) -> None:
    Submission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.INVALID, error=str(errors)[:5000]
    )


def _title(form: WebForm, fields: dict[str, str]) -> str:
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    base = form.title_template or form.name
    return f"{base}: {name}" if name else base


def submission_process(submission_id: int) -> Lead | None:
    """Turn a stored submission into a lead. Idempotent: the row is locked and a processed
    submission returns its lead; a failure leaves it "received" with the error noted, so
    a later run can retry."""
    try:
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update().select_related("form").get(pk=submission_id)
            )
            if submission.status == SubmissionStatus.PROCESSED:
                return submission.lead
            if submission.status != SubmissionStatus.RECEIVED:
                return None
            cleaned = submission_validate(submission)
            fields = cleaned["fields"]
            title = fields.pop("title", "") or _title(submission.form, fields)
            lead = intake_lead_create(
                channel=Channel.WEB,
                source="web_form",
                received_at=submission.received_at,
                title=title[:255],
                fields=fields,
                custom=cleaned["custom"] or None,
                utm=submission.utm,
                referrer=submission.referrer,
                landing_page=submission.landing_page,
                routing_group=submission.form.routing_group,
                region=request_region(
                    text=cleaned["routing"].get("region", ""), phone=fields.get("phone", "")
                ),
                language=cleaned["routing"].get("language") or submission.language,
            )
            submission.status = SubmissionStatus.PROCESSED
            submission.lead = lead
            submission.error = ""
            submission.processed_at = timezone.now()
            submission.save(update_fields=["status", "lead", "error", "processed_at"])
            return lead
    except Exception as exc:
        log.exception("web form submission %s failed", submission_id)
        Submission.objects.filter(pk=submission_id, status=SubmissionStatus.RECEIVED).update(
            error=f"{type(exc).__name__}: {exc}"[:5000]
        )
        raise


def submissions_retry(limit: int = 100) -> int:
    """Process submissions left "received" (queue down, a failure); returns how many."""
    done = 0
    ids = Submission.objects.filter(status=SubmissionStatus.RECEIVED).values_list("pk", flat=True)
    for pk in list(ids[:limit]):
        try:
            if submission_process(pk) is not None:
                done += 1
        except Exception:  # noqa: BLE001, S112 - noted on the row; the next one still runs
            continue
    return done
