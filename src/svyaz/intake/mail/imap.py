"""The IMAP poller (stdlib imaplib): each new message imported exactly once.

The mailbox row keeps the folder's UIDVALIDITY and the highest UID imported. For each
new UID, in ascending order, one transaction: lock the mailbox row, check the UID is still
above the mark (another poller may have taken it), import or quarantine the message,
move the mark. A poller killed anywhere leaves either both (message and mark) or neither;
the next run starts after the mark. Message-IDs are unique per mailbox, so even a reset
UIDVALIDITY (the server renumbered the folder) re-reads the folder without doubling."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.intake.mail.importer import max_message_bytes, message_import, quarantine_add
from svyaz.intake.models import Mailbox, QuarantineReason

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
DEFAULT_BATCH = 200
_UID_RE = re.compile(rb"UID (\d+)")
_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The server refused or could not be reached; the message is for people."""


@dataclass
class PollResult:
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.imported + self.duplicates + self.quarantined


def imap_connect(mailbox: Mailbox) -> imaplib.IMAP4:
    """A logged-in connection; MailboxError with a readable reason otherwise."""
    if not mailbox.imap_host:
        raise MailboxError(_("No IMAP server is set."))
    try:
        if mailbox.imap_ssl:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS
            )
        else:
            conn = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            _("Cannot connect to %(host)s:%(port)s: %(error)s")
            % {"host": mailbox.imap_host, "port": mailbox.imap_port, "error": exc}
        ) from exc
    try:
        conn.login(mailbox.imap_username, mailbox.imap_password)
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(conn)
        raise MailboxError(
            _("The IMAP server refused the login: %(error)s") % {"error": exc}
        ) from exc
    return conn


def _logout(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        conn.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select(conn: imaplib.IMAP4, folder: str) -> int:
    """Select read-only (no flags change) and return the folder's UIDVALIDITY."""
    status, data = conn.select(_quote(folder), readonly=True)
    if status != "OK":
        raise MailboxError(
            _("The folder %(folder)s cannot be opened: %(error)s")
            % {"folder": folder, "error": data[0].decode("utf-8", "replace") if data else status}
        )
    _name, values = conn.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise MailboxError(_("The server did not report UIDVALIDITY.")) from exc


def _new_uids(conn: imaplib.IMAP4, after: int) -> list[tuple[int, int]]:
    """[(uid, size)] above `after`, ascending. "n:*" also matches the last message when
    every UID is below n, hence the filter."""
    status, data = conn.uid("FETCH", f"{after + 1}:*", "(UID RFC822.SIZE)")
    if status != "OK":
        raise MailboxError(_("The server refused to list messages."))
    out: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID_RE.search(line), _SIZE_RE.search(line)
        if uid and int(uid.group(1)) > after:
            out[int(uid.group(1))] = int(size.group(1)) if size else 0
    return sorted(out.items())


def _fetch(conn: imaplib.IMAP4, uid: int, what: str) -> bytes | None:
    status, data = conn.uid("FETCH", str(uid), f"(UID {what})")
    if status != "OK":
        raise MailboxError(_("The server refused to send message %(uid)s.") % {"uid": uid})
    for item in data:
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        found = _UID_RE.search(item[0])
        if found and int(found.group(1)) == uid:
            return item[1]
    return None  # expunged meanwhile


def _import_one(mailbox_id: int, uidvalidity: int, uid: int, size: int, conn: imaplib.IMAP4) -> str:
    """One message in one transaction with the mark; returns what happened."""
    limit = max_message_bytes()
    # Fetch before locking: the network wait stays outside the transaction.
    if size > limit:
        headers = _fetch(conn, uid, "BODY.PEEK[HEADER]")
        raw = None
    else:
        raw = _fetch(conn, uid, "BODY.PEEK[]")
        headers = None
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox_id)
        if mailbox.uidvalidity != uidvalidity or uid <= mailbox.last_uid:
            return "skipped"  # another poller imported it meanwhile
        if size > limit:
            quarantine_add(
                mailbox=mailbox,
                reason=QuarantineReason.OVERSIZED,
                error=_("%(size)d bytes, the limit is %(limit)d; the message stays on the server.")
                % {"size": size, "limit": limit},
                headers=headers or b"",
                size=size,
                uid=uid,
                uidvalidity=uidvalidity,
            )
            status = "quarantined"
        elif raw is None:
            status = "skipped"  # gone from the server between listing and fetching
        else:
            status = message_import(
                mailbox=mailbox, raw=raw, uid=uid, uidvalidity=uidvalidity
            ).status
        Mailbox.objects.filter(pk=mailbox_id).update(last_uid=uid)
    return status


def mailbox_poll(
    mailbox: Mailbox,
    *,
    batch: int = DEFAULT_BATCH,
    connect: Callable[[Mailbox], imaplib.IMAP4] = imap_connect,
) -> PollResult:
    """Import the mailbox's new messages (at most `batch`). Server trouble is noted on the
    mailbox (last error) and raised as MailboxError; what was imported stays imported."""
    result = PollResult()
    try:
        conn = connect(mailbox)
        try:
            uidvalidity = _select(conn, mailbox.folder or "INBOX")
            with transaction.atomic():
                locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
                if locked.uidvalidity != uidvalidity:
                    # A new folder, or the server renumbered it: read it again from the
                    # start; Message-IDs already imported are recognised as duplicates.
                    if locked.uidvalidity is not None:
                        log.warning(
                            "mailbox %s: UIDVALIDITY %s → %s, re-reading the folder",
                            mailbox.pk,
                            locked.uidvalidity,
                            uidvalidity,
                        )
                    locked.uidvalidity = uidvalidity
                    locked.last_uid = 0
                    locked.save(update_fields=["uidvalidity", "last_uid"])
                after = locked.last_uid
            for uid, size in _new_uids(conn, after)[:batch]:
                status = _import_one(mailbox.pk, uidvalidity, uid, size, conn)
                if status == "imported":
                    result.imported += 1
                elif status == "duplicate":
                    result.duplicates += 1
                elif status == "quarantined":
                    result.quarantined += 1
                else:
                    result.skipped += 1
        finally:
            _logout(conn)
    except (TimeoutError, MailboxError, OSError, imaplib.IMAP4.error) as exc:
        message = str(exc) if isinstance(exc, MailboxError) else f"{type(exc).__name__}: {exc}"
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_polled_at=timezone.now(), last_error=message[:5000]
        )
        raise MailboxError(message) from exc
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error="")
    log.info(
        "mailbox %s: %d imported, %d duplicates, %d quarantined",
        mailbox.pk,
        result.imported,
        result.duplicates,
        result.quarantined,
    )
    return result


def mail_poll_all(*, batch: int = DEFAULT_BATCH) -> dict[int, PollResult]:
    """Poll every active mailbox with an IMAP server; one failing server does not stop the
    others (its error is on its row)."""
    results: dict[int, PollResult] = {}
    for mailbox in Mailbox.objects.filter(active=True).exclude(imap_host=""):
        try:
            results[mailbox.pk] = mailbox_poll(mailbox, batch=batch)
        except MailboxError as exc:
            results[mailbox.pk] = PollResult(errors=[str(exc)])
    return results


def imap_fetch_one(mailbox: Mailbox, uidvalidity: int | None, uid: int | None) -> bytes:
    """One message by UID (for a retry from the quarantine), whatever its size."""
    if uid is None:
        raise MailboxError(_("This message has no UID on the server."))
    conn = imap_connect(mailbox)
    try:
        current = _select(conn, mailbox.folder or "INBOX")
        if uidvalidity is not None and current != uidvalidity:
            raise MailboxError(_("The server renumbered the folder; the message cannot be found."))
        raw = _fetch(conn, uid, "BODY.PEEK[]")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        _logout(conn)
    if raw is None:
        raise MailboxError(_("The message is no longer on the server."))
    return raw
