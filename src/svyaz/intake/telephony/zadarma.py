"""Zadarma PBX notifications (written from Zadarma's public API documentation, "PBX call
notifications"; not yet checked against a live account).

Zadarma posts form-encoded events to the URL set in the PBX settings and signs each with
the header `Signature: base64(HMAC-SHA1(<fields>, API secret))`, the fields depending on
the event:
    NOTIFY_START / NOTIFY_END:         caller_id + called_did + call_start
    NOTIFY_OUT_START / NOTIFY_OUT_END: internal + destination + call_start
    NOTIFY_RECORD:                     pbx_call_id + call_id_with_rec
Their PHP sample base64-encodes the HEX digest (hash_hmac without raw output); both that
and the raw digest are accepted. When the URL is saved Zadarma checks it with
GET ?zd_echo=<x> and expects <x> back.
Only the END events have an effect (one per call, keyed by pbx_call_id); the rest are
acknowledged and ignored. The events carry no timestamp header, so replays are stopped by
the pbx_call_id uniqueness alone. Recordings need an API call (pbx/record/request) and are
not fetched: the event keeps call_id_with_rec in its raw data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.intake.routing import company_tz
from svyaz.intake.telephony.base import Adapter, NormalizedCall, WebhookRefused

SIGNED_FIELDS = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}


def signatures(secret: str, message: str) -> list[str]:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1)
    return [
        base64.b64encode(digest.hexdigest().encode()).decode(),
        base64.b64encode(digest.digest()).decode(),
    ]


class ZadarmaAdapter(Adapter):
    kind = "zadarma"

    def probe(self, request) -> str | None:
        if request.method == "GET" and "zd_echo" in request.GET:
            return request.GET["zd_echo"][:100]
        return None

    def verify(self, request, secret: str) -> None:
        event = request.POST.get("event", "")
        if event not in SIGNED_FIELDS:
            # Unknown events (NOTIFY_INTERNAL, NOTIFY_ANSWER…) are signed differently or
            # not at all; they have no effect here, so they are refused as unsigned.
            if event:
                raise WebhookRefused(_("Unsupported event."), 400)
            raise WebhookRefused(_("The request is not signed."), 403)
        message = "".join(request.POST.get(name, "") for name in SIGNED_FIELDS[event])
        given = request.headers.get("Signature", "")
        if not given or not any(hmac.compare_digest(given, s) for s in signatures(secret, message)):
            raise WebhookRefused(_("Bad signature."), 403)

    def parse(self, request) -> NormalizedCall | None:
        data = request.POST
        event = data.get("event", "")
        if event not in ("NOTIFY_END", "NOTIFY_OUT_END"):
            return None
        try:
            started = datetime.strptime(  # noqa: DTZ007 - Zadarma sends local time
                data.get("call_start", ""), "%Y-%m-%d %H:%M:%S"
            )
        except ValueError as exc:
            raise WebhookRefused(_("Bad call_start.")) from exc
        pbx_call_id = data.get("pbx_call_id", "").strip()
        if not pbx_call_id:
            raise WebhookRefused(_("Missing pbx_call_id."))
        try:
            duration = max(int(data.get("duration") or 0), 0)
        except ValueError:
            duration = 0
        inbound = event == "NOTIFY_END"
        return NormalizedCall(
            event_id=pbx_call_id[:128],
            direction="in" if inbound else "out",
            status="answered" if data.get("disposition") == "answered" else "missed",
            caller=data.get("caller_id", "")[:64] if inbound else data.get("internal", "")[:64],
            callee=data.get("called_did", "")[:64] if inbound else data.get("destination", "")[:64],
            started_at=timezone.make_aware(started, company_tz()),
            duration_seconds=duration,
            raw={k: data.get(k) for k in data},
        )
