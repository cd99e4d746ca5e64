"""Through what and by whom the running code changes data: the audit context.

A context variable, so it follows each request, job and thread (and asyncio task) on its
own; nothing is kept at module level.

- every request: AuditContextMiddleware → source "api" under /api/, else "page"; the actor
  is read from `request.user` when a row is written (so DRF token authentication, which
  sets the user inside the view, is seen);
- every Celery task (a worker, eager in-process, or the embedded scheduler): "job"
  (svyaz.audit.jobs);
- code that knows better says so:

      from svyaz.audit.context import audit_source

      with audit_source("import", actor=job.user):
          ...

  or as a decorator, `@audit_source("automation")`. Without `actor`, the actor of the
  surrounding context is kept (a job started by a page keeps its user); `actor=None`
  means "the system".

Outside any context (shell, management commands, migrations) the source is "system" and
there is no actor.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any

SOURCES = ("page", "api", "import", "job", "automation", "system")

_UNSET: Any = object()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class AuditContext:
    source: str = "system"
    actor: Any = _UNSET  # a user, None (the system) or _UNSET (read from the request)
    request: Any = None
    request_id: str = ""
    path: str = ""
    # Shared by the nested contexts of one request or job:
    # (model label, pk) → the record's name, so repeated writes don't look it up again;
    names: dict = field(default_factory=dict)
    # refused accesses, written when the outermost context ends (after any rollback).
    denials: list = field(default_factory=list)


_context: ContextVar[AuditContext | None] = ContextVar("svyaz_audit_context", default=None)


def current() -> AuditContext:
    ctx = _context.get()
    return ctx if ctx is not None else AuditContext()


def current_source() -> str:
    return current().source


def current_actor():
    """The user behind the running change, or None for the system / an anonymous visitor."""
    ctx = _context.get()
    if ctx is None:
        return None
    user = ctx.actor
    if user is _UNSET:
        user = getattr(ctx.request, "user", None) if ctx.request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "_wrapped", user)  # a SimpleLazyObject (request.user) → the user


def new_request_id(given: str | None = None) -> str:
    if given and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def push(
    source: str,
    *,
    actor: Any = _UNSET,
    request: Any = None,
    request_id: str = "",
    path: str = "",
) -> tuple[Token, AuditContext, bool]:
    """Enter a context; returns what `pop` needs. Nested contexts keep the outer request,
    request id and path, and the outer actor unless `actor` is given."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}; one of {', '.join(SOURCES)}")
    outer = _context.get()
    if outer is None:
        ctx = AuditContext(
            source=source,
            actor=actor,
            request=request,
            request_id=request_id or (new_request_id() if request is not None else ""),
            path=path,
        )
    else:
        ctx = replace(
            outer,
            source=source,
            actor=outer.actor if actor is _UNSET and request is None else actor,
            request=request if request is not None else outer.request,
            request_id=outer.request_id or request_id,
            path=path or outer.path,
        )
    return _context.set(ctx), ctx, outer is None


def pop(token: Token, ctx: AuditContext, outermost: bool) -> None:
    _context.reset(token)
    if outermost and ctx.denials:
        from svyaz.audit.denials import flush

        flush(ctx)


@contextmanager
def audit_source(source: str, *, actor: Any = _UNSET) -> Iterator[AuditContext]:
    """Changes made inside are recorded with this source (and actor, when given)."""
    token, ctx, outermost = push(source, actor=actor)
    try:
        yield ctx
    finally:
        pop(token, ctx, outermost)
