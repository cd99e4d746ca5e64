"""Message-IDs and threads.

A thread is keyed by the Message-ID of its first message: a new message takes the key of
the message it answers (In-Reply-To, else the nearest known one in References); a message
that answers nothing we know starts its own thread, keyed by the root of its References
when it has them, so later replies of a thread we joined late still meet."""

from __future__ import annotations

import hashlib
import re

MSGID_RE = re.compile(r"<[^<>\s]+>")
MAX_LENGTH = 255


def msgid_normalize(value: str) -> str:
    """'<Abc@Host>' as stored: the bracketed id, whitespace gone; an id too long for the
    column becomes a stable hash of itself, the same wherever it appears."""
    value = (value or "").strip()
    found = MSGID_RE.search(value)
    if found:
        value = found.group(0)
    elif value:
        value = "<" + "".join(value.split()).strip("<>") + ">"
    if len(value) > MAX_LENGTH:
        value = "<" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest() + "@long.id>"
    return value


def msgid_list(value: str) -> list[str]:
    """All ids of a References / In-Reply-To header, in order, without repeats."""
    out: list[str] = []
    for raw in MSGID_RE.findall(value or ""):
        msgid = msgid_normalize(raw)
        if msgid not in out:
            out.append(msgid)
    return out


def msgid_synthetic(raw: bytes) -> str:
    """An id for a message that has none: the same bytes always give the same id, so a
    message without Message-ID is still imported once."""
    return "<" + hashlib.sha256(raw).hexdigest() + "@no-message-id.svyaz>"


def thread_parent_ids(*, in_reply_to: str, references: list[str]) -> list[str]:
    """Ids to look for, nearest first: In-Reply-To, then References from the last."""
    ids = [in_reply_to] if in_reply_to else []
    ids += [r for r in reversed(references) if r not in ids]
    return ids


def thread_resolve(*, message_id: str, in_reply_to: str, references: list[str]):
    """(thread key, parent EmailMessage or None) for a new message."""
    from svyaz.intake.models import EmailMessage

    candidates = thread_parent_ids(in_reply_to=in_reply_to, references=references)
    if candidates:
        known = {
            m.message_id: m
            for m in EmailMessage.objects.filter(message_id__in=candidates).order_by("-id")
        }
        for msgid in candidates:
            if msgid in known:
                return known[msgid].thread_key, known[msgid]
    if references:
        return references[0], None
    if in_reply_to:
        return in_reply_to, None
    return message_id, None
