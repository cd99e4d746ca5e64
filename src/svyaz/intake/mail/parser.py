"""Raw RFC 5322 bytes → ParsedMail, with the stdlib `email` package (policy.default).

Russian mail comes in every encoding there is: RFC 2047 words in KOI8-R or Windows-1251,
bodies with a declared charset, with a wrong one or with none, and headers in raw 8-bit
(old mailers). Raw 8-bit header bytes are decoded with the message's own charset when it
declares one, else UTF-8, else the likelier of the Cyrillic code pages. A message that is
not mail at all (no headers, no sender) raises MalformedMail; nothing else does."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as StdMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from svyaz.intake.mail.html import html_to_text
from svyaz.intake.mail.threads import msgid_list, msgid_normalize, msgid_synthetic

# Names mailers use that Python's codec registry does not know.
CHARSET_ALIASES = {
    "win-1251": "cp1251",
    "x-cp1251": "cp1251",
    "windows1251": "cp1251",
    "koi8r": "koi8_r",
    "x-koi8-r": "koi8_r",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-unknown": "",
    "unknown-8bit": "",
}
FALLBACK_CHARSETS = ("utf-8", "cp1251", "koi8_r")


class MalformedMail(Exception):
    """The bytes are not a message we can import; the reason is for the quarantine."""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: str
    references: list[str]
    subject: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_submitted: bool = False
    size: int = 0


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Text of `data`: the declared charset when it decodes cleanly, else UTF-8, else a
    guess between the Cyrillic code pages, else the declared one with replacements."""
    codec = _codec(declared)
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = _guess_cyrillic(data)
    if guess:
        return data.decode(guess, errors="replace")
    return data.decode(codec or "cp1251", errors="replace")


def _guess_cyrillic(data: bytes) -> str | None:
    """KOI8-R or Windows-1251, by which reads as more ordinary Russian.

    Both decode any byte, so the test is the text: in Windows-1251 Russian lower-case
    letters are 0xE0–0xFF; KOI8-R puts lower case at 0xC0–0xDF. Counting how many
    high bytes land on lower-case letters in each reading decides (short headers too)."""
    high = [b for b in data if b >= 0xC0]
    if not high:
        try:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
        except Exception:  # noqa: BLE001 - detection is a hint, never a failure
            return None
        return best.encoding if best is not None else None
    cp1251_lower = sum(1 for b in high if b >= 0xE0)
    koi8_lower = len(high) - cp1251_lower
    return "cp1251" if cp1251_lower >= koi8_lower else "koi8_r"


def clean_text(value: str) -> str:
    """Text a database stores: no NUL characters (PostgreSQL refuses them), no lone
    surrogates left over from undecodable bytes."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _has_escapes(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _message_charset(msg: StdMessage) -> str | None:
    for part in msg.walk():
        charset = part.get_content_charset()
        if charset and _codec(charset):
            return charset
    return None


def _header(msg: StdMessage, name: str, hint: str | None):
    """The header parsed by policy.default; raw 8-bit bytes decoded with `hint` first.
    None when absent; unparseable values become their plain text."""
    raw = None
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            raw = value
            break
    if raw is None:
        return None
    if _has_escapes(raw):
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), hint)
    try:
        return policy.default.header_factory(name, raw)
    except Exception:  # noqa: BLE001 - a header the parser chokes on is kept as text
        return " ".join(raw.split())


def _addresses(header) -> list[tuple[str, str]]:
    """[(display name, address)] of an address header, lower-cased addresses."""
    if header is None:
        return []
    out = []
    try:
        addresses = list(getattr(header, "addresses", ()))
    except Exception:  # noqa: BLE001
        addresses = []
    if addresses:
        for addr in addresses:
            if isinstance(addr, Address) and addr.username and addr.domain:
                out.append((addr.display_name or "", addr.addr_spec.lower()))
        return out
    for name, email in getaddresses([str(header)]):
        if "@" in email:
            out.append((name, email.lower()))
    return out


def _valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _text_of(part: StdMessage) -> str:
    data = part.get_payload(decode=True) or b""
    return decode_bytes(data, part.get_content_charset())


def _filename(part: StdMessage, hint: str | None, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001
        name = ""
    if _has_escapes(name):
        name = decode_bytes(name.encode("ascii", "surrogateescape"), hint)
    # A name is a name, not a path: keep the last component, no control characters.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip(" .")
    return clean_text(name)[:200] or f"attachment-{index}"


def _walk_body(msg: StdMessage, hint: str | None):
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if (
            ctype == "message/rfc822"
            or disposition == "attachment"
            or (ctype not in ("text/plain", "text/html") and ctype.split("/")[0] != "multipart")
        ):
            if ctype == "message/rfc822":
                payload = part.get_payload()
                inner = payload[0] if isinstance(payload, list) and payload else None
                data = inner.as_bytes(policy=policy.SMTP) if inner is not None else b""
                default = "message.eml"
            else:
                data = part.get_payload(decode=True) or b""
                default = ""
            name = _filename(part, hint, len(attachments) + 1) if default == "" else default
            attachments.append(ParsedAttachment(name, clean_text(ctype)[:255], data))
            continue
        if ctype == "text/html":
            htmls.append(_text_of(part))
        else:
            texts.append(_text_of(part))
    return texts, htmls, attachments


def mail_parse(raw: bytes) -> ParsedMail:
    """Parse one message; MalformedMail when it has no headers or no usable sender."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        raise MalformedMail(f"unparseable: {exc}") from exc
    if not list(msg.keys()):
        raise MalformedMail("no headers")
    hint = _message_charset(msg)
    try:
        return _build(msg, raw, hint)
    except MalformedMail:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser surprise is a quarantine, not a crash
        raise MalformedMail(f"{type(exc).__name__}: {exc}") from exc


def _build(msg: StdMessage, raw: bytes, hint: str | None) -> ParsedMail:
    senders = _addresses(_header(msg, "From", hint)) or _addresses(_header(msg, "Sender", hint))
    if not senders or not _valid_email(senders[0][1]):
        raise MalformedMail("no valid sender address")
    from_name, from_address = senders[0]
    subject_header = _header(msg, "Subject", hint)
    subject = " ".join(str(subject_header or "").split())
    message_id = msgid_normalize(str(_header(msg, "Message-ID", hint) or ""))
    if not message_id:
        message_id = msgid_synthetic(raw)
    references = msgid_list(str(_header(msg, "References", hint) or ""))
    in_reply = msgid_list(str(_header(msg, "In-Reply-To", hint) or ""))
    date = None
    date_header = _header(msg, "Date", hint)
    if date_header is not None:
        date = getattr(date_header, "datetime", None)
        if date is None:
            try:
                date = parsedate_to_datetime(str(date_header))
            except (TypeError, ValueError, IndexError):
                date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
    texts, htmls, attachments = _walk_body(msg, hint)
    html = "\n".join(htmls)
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    auto = str(_header(msg, "Auto-Submitted", hint) or "").strip().lower()
    return ParsedMail(
        message_id=clean_text(message_id),
        in_reply_to=clean_text(in_reply[0]) if in_reply else "",
        references=[clean_text(r) for r in references],
        subject=clean_text(subject)[:500],
        from_name=clean_text(" ".join(from_name.split()))[:255],
        from_address=clean_text(from_address),
        to=[clean_text(a) for _n, a in _addresses(_header(msg, "To", hint))],
        cc=[clean_text(a) for _n, a in _addresses(_header(msg, "Cc", hint))],
        date=date,
        text=clean_text(text),
        html=clean_text(html),
        attachments=attachments,
        auto_submitted=bool(auto and auto != "no")
        or from_address.split("@")[0] in ("mailer-daemon", "postmaster"),
        size=len(raw),
    )


def headers_preview(raw: bytes) -> tuple[str, str]:
    """(From, Subject) as text for the quarantine list, whatever the bytes are."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        hint = _message_charset(msg)
        return (
            clean_text(" ".join(str(_header(msg, "From", hint) or "").split()))[:500],
            clean_text(" ".join(str(_header(msg, "Subject", hint) or "").split()))[:500],
        )
    except Exception:  # noqa: BLE001
        return "", ""
