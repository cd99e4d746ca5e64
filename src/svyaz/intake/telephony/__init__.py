"""Telephony adapters: one small module per provider, all normalizing to `NormalizedCall`."""

from __future__ import annotations

from svyaz.intake.telephony.base import Adapter, NormalizedCall, WebhookRefused
from svyaz.intake.telephony.generic import GenericAdapter
from svyaz.intake.telephony.zadarma import ZadarmaAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    GenericAdapter.kind: GenericAdapter,
    ZadarmaAdapter.kind: ZadarmaAdapter,
}


def adapter_for(kind: str) -> Adapter:
    return ADAPTERS[kind]()


__all__ = ["ADAPTERS", "Adapter", "NormalizedCall", "WebhookRefused", "adapter_for"]
