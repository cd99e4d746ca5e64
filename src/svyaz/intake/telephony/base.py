"""The adapter contract: check the request is the provider's, then normalize it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import HttpRequest


class WebhookRefused(Exception):  # noqa: N818 - a refusal, not a bug
    """The request is not accepted; `status` is the HTTP answer (400 or 403)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class NormalizedCall:
    event_id: str
    direction: str  # "in" | "out"
    status: str  # "answered" | "missed"
    caller: str
    callee: str
    started_at: datetime
    duration_seconds: int = 0
    recording_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class Adapter:
    kind = ""

    def verify(self, request: HttpRequest, secret: str) -> None:
        """Raise WebhookRefused unless the request is signed with `secret` and fresh."""
        raise NotImplementedError

    def parse(self, request: HttpRequest) -> NormalizedCall | None:
        """The call this request reports, or None for events with no effect (a call
        starting, a ring). Raise WebhookRefused(…, 400) for a malformed body."""
        raise NotImplementedError

    def probe(self, request: HttpRequest) -> str | None:
        """An answer to a provider's URL check (a GET), or None when it is not one."""
        return None
