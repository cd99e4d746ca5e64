"""Domain events, sent after the transaction commits.

Services call `emit("deal.stage_changed", deal_id=..., ...)`; subscribers register with
`@subscriber("deal.stage_changed")`. Async consumers should enqueue a Celery job and be
idempotent: a committed event may be delivered again after a crash.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)
_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def subscriber(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if func not in _subscribers[name]:
            _subscribers[name].append(func)
        return func

    return register


def _deliver(name: str, payload: dict[str, Any]) -> None:
    for func in list(_subscribers.get(name, ())) + list(_subscribers.get("*", ())):
        try:
            func(name, **payload)
        except Exception:  # one broken subscriber must not break the others
            log.exception("event subscriber %s failed for %s", func, name)


def emit(name: str, **payload: Any) -> None:
    transaction.on_commit(lambda: _deliver(name, payload))
