"""Our own format: JSON signed with HMAC-SHA256 over "<timestamp>.<body>".

Headers: X-Svyaz-Timestamp (Unix seconds), X-Svyaz-Signature (hex digest, optionally
prefixed "sha256="). Body:
    {"event_id": "…", "direction": "in"|"out", "status": "answered"|"missed",
     "caller": "+7…", "callee": "+7…", "started_at": ISO 8601, "duration": seconds,
     "recording_url": "https://…"}
A PBX (Asterisk AGI, FreeSWITCH, a script) posts it after each call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from svyaz.intake.telephony.base import Adapter, NormalizedCall, WebhookRefused

MAX_AGE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class GenericAdapter(Adapter):
    kind = "generic"

    def verify(self, request, secret: str) -> None:
        timestamp = request.headers.get("X-Svyaz-Timestamp", "")
        signature = request.headers.get("X-Svyaz-Signature", "").removeprefix("sha256=")
        if not timestamp or not signature:
            raise WebhookRefused(_("The request is not signed."), 403)
        expected = sign(secret, timestamp, request.body)
        if not hmac.compare_digest(expected, signature):
            raise WebhookRefused(_("Bad signature."), 403)
        try:
            age = time.time() - int(timestamp)
        except ValueError as exc:
            raise WebhookRefused(_("Bad timestamp."), 400) from exc
        if abs(age) > MAX_AGE_SECONDS:
            raise WebhookRefused(_("The request is too old (or from the future)."), 400)

    def parse(self, request) -> NormalizedCall | None:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRefused(_("The body is not JSON.")) from exc
        if not isinstance(data, dict):
            raise WebhookRefused(_("The body must be a JSON object."))
        errors = []
        event_id = str(data.get("event_id") or "").strip()
        if not event_id:
            errors.append("event_id")
        direction = data.get("direction")
        if direction not in ("in", "out"):
            errors.append("direction")
        status = data.get("status")
        if status not in ("answered", "missed"):
            errors.append("status")
        started = parse_datetime(str(data.get("started_at") or ""))
        if started is None:
            errors.append("started_at")
        elif timezone.is_naive(started):
            started = started.replace(tzinfo=UTC)
        try:
            duration = int(data.get("duration") or 0)
            if duration < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors.append("duration")
            duration = 0
        if errors:
            raise WebhookRefused(
                _("Missing or invalid fields: %(list)s.") % {"list": ", ".join(errors)}
            )
        return NormalizedCall(
            event_id=event_id[:128],
            direction=direction,
            status=status,
            caller=str(data.get("caller") or "")[:64],
            callee=str(data.get("callee") or "")[:64],
            started_at=started,
            duration_seconds=duration,
            recording_url=str(data.get("recording_url") or "")[:1000],
            raw=data,
        )
