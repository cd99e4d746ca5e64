"""Public intake endpoints (web forms, call events) and the staff snippet page."""

from __future__ import annotations

import json
import logging

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from svyaz.core.access import settings_required
from svyaz.intake import webforms
from svyaz.intake.models import SubmissionStatus, TelephonyProvider, WebForm
from svyaz.intake.telephony import WebhookRefused, adapter_for
from svyaz.intake.telephony.services import call_event_store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def _client_ip(request: HttpRequest) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips);
    # trusting X-Forwarded-For here would let a bot pick its own rate-limit key.
    return request.META.get("REMOTE_ADDR") or None


def _cors(request: HttpRequest, form: WebForm, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and (not form.allowed_origins or origin in form.allowed_origins):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = "3600"
        response["Vary"] = "Origin"
    return response


def _wants_json(request: HttpRequest) -> bool:
    return (
        "application/json" in request.headers.get("Accept", "")
        or request.content_type == "application/json"
    )


def _payload(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError({"__all__": [_("The body is not JSON.")]}) from exc
        if not isinstance(data, dict):
            raise ValidationError({"__all__": [_("The body must be a JSON object.")]})
        return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool)}
    return {k: request.POST.get(k, "") for k in request.POST}


def _answer(request, form, *, status: int, data: dict, errors=None, values=None):
    if _wants_json(request):
        return _cors(request, form, JsonResponse(data, status=status))
    errors = errors or {}
    values = values or {}
    fields = [
        {**f, "errors": errors.get(f["name"], []), "value": values.get(f["name"], "")}
        for f in webforms.form_fields(form)
    ]
    context = {
        "form": form,
        "fields": fields,
        "consent_errors": errors.get(webforms.CONSENT_FIELD, []),
        "form_errors": errors.get("__all__", []),
        "action": reverse("intake:form_submit", args=[form.key]),
        "message": data.get("message", ""),
        "ok": data.get("ok", False),
    }
    return _cors(request, form, render(request, "intake/form_page.html", context, status=status))


@csrf_exempt  # a public form posted from other sites; spam is handled by honeypot + limit
def form_submit(request: HttpRequest, key: str) -> HttpResponse:
    form = get_object_or_404(WebForm, key=key, active=True)
    if request.method == "OPTIONS":
        return _cors(request, form, HttpResponse(status=204))
    if request.method == "GET":
        return _answer(request, form, status=200, data={})
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST, OPTIONS"})
    origin = request.headers.get("Origin")
    if form.allowed_origins and origin and origin not in form.allowed_origins:
        return JsonResponse(
            {"ok": False, "message": _("This site may not use the form.")}, status=403
        )
    if len(request.body) > MAX_BODY_BYTES:
        return _answer(request, form, status=413, data={"ok": False, "message": _("Too large.")})
    if webforms.rate_limited(form=form, ip=_client_ip(request)):
        message = _("Too many submissions from your address. Please try again in a few minutes.")
        response = _answer(request, form, status=429, data={"ok": False, "message": message})
        response["Retry-After"] = str(webforms.RATE_WINDOW_SECONDS)
        return response
    try:
        payload = _payload(request)
    except ValidationError as exc:
        return _answer(request, form, status=400, data={"ok": False, "errors": exc.message_dict})
    submission = webforms.submission_receive(
        form=form,
        payload=payload,
        ip=_client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        http_referer=request.headers.get("Referer", ""),
        accept_language=request.headers.get("Accept-Language", ""),
    )
    success = {"ok": True, "message": form.success_message}
    if payload.get(form.honeypot_field):
        # A bot filled the hidden field: quarantine it and answer as if all went well.
        submission.status = SubmissionStatus.SPAM
        submission.save(update_fields=["status"])
        return _answer(request, form, status=200, data=success)
    try:
        webforms.submission_validate(submission)
    except ValidationError as exc:
        errors = exc.message_dict
        webforms.submission_mark_invalid(submission, errors)
        return _answer(
            request,
            form,
            status=400,
            data={"ok": False, "message": _("Please correct the errors below."), "errors": errors},
            errors=errors,
            values=payload,
        )
    from svyaz.core.outbox import enqueue
    from svyaz.intake.tasks import submission_process

    try:
        enqueue(submission_process, submission.pk)  # kept in the outbox if the queue is down
    except Exception:  # noqa: BLE001 - stored already; the retry job processes it later
        log.exception("submission %s stored, processing deferred", submission.pk)
    return _answer(request, form, status=200, data=success)


@csrf_exempt  # signed by the provider (HMAC), not by a session
def call_event(request: HttpRequest, provider: str) -> HttpResponse:
    account = get_object_or_404(TelephonyProvider, name=provider, active=True)
    adapter = adapter_for(account.kind)
    echo = adapter.probe(request)
    if echo is not None:
        return HttpResponse(echo, content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"ok": False, "error": _("Too large.")}, status=413)
    try:
        adapter.verify(request, account.secret)
        call = adapter.parse(request)
    except WebhookRefused as exc:
        return JsonResponse({"ok": False, "error": exc.message}, status=exc.status)
    if call is None:
        return JsonResponse({"ok": True, "status": "ignored"})
    event, created = call_event_store(provider=account, call=call)
    if not created:
        return JsonResponse({"ok": True, "status": "duplicate", "id": event.pk})
    from svyaz.core.outbox import enqueue
    from svyaz.intake.tasks import call_event_process

    try:
        enqueue(call_event_process, event.pk)  # kept in the outbox if the queue is down
    except Exception:  # noqa: BLE001 - stored; reprocess from the admin or a later run
        log.exception("call event %s stored, processing deferred", event.pk)
    return JsonResponse({"ok": True, "status": "accepted", "id": event.pk})


def embed_snippet(request: HttpRequest, form: WebForm) -> str:
    from django.template.loader import render_to_string

    return render_to_string(
        "intake/embed_snippet.html",
        {
            "form": form,
            "fields": webforms.form_fields(form),
            "action": request.build_absolute_uri(reverse("intake:form_submit", args=[form.key])),
            "script": request.build_absolute_uri(static("intake/embed.js")),
        },
    ).strip()


@settings_required("auto")  # settings: GET needs view, POST edit
def form_list(request: HttpRequest) -> HttpResponse:
    forms = WebForm.objects.order_by("name", "id")
    return render(request, "intake/form_list.html", {"forms": forms})


@settings_required("auto")  # settings: GET needs view, POST edit
def form_snippet(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(WebForm, pk=pk)
    recent = form.submissions.select_related("lead")[:20]
    return render(
        request,
        "intake/form_snippet.html",
        {"form": form, "snippet": embed_snippet(request, form), "recent": recent},
    )
