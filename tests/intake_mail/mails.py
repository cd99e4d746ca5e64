"""Raw messages as real mailers write them, byte by byte (encodings are the point)."""

from __future__ import annotations

import base64
import itertools

_ids = itertools.count(1)


def encoded_word(text: str, charset: str, *, b: bool = True) -> str:
    data = text.encode(charset)
    if b:
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    quoted = "".join(
        chr(c) if (48 <= c < 127 and c not in (61, 63, 95)) else f"={c:02X}" for c in data
    )
    return f"=?{charset}?Q?{quoted}?="


def new_id() -> str:
    return f"<m{next(_ids)}.test@client.ru>"


def plain(
    *,
    sender: str = "Ivan Sidorov <ivan@client.ru>",
    to: str = "sales@svyaz.test",
    subject: str = "Hello",
    body: str = "Hello!",
    message_id: str | None = None,
    extra: str = "",
    date: str = "Mon, 30 Nov 2026 10:00:00 +0300",
) -> bytes:
    return (
        (
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: {message_id or new_id()}\r\n{extra}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + body.encode("utf-8")
        + b"\r\n"
    )


def koi8r(*, message_id: str | None = None) -> bytes:
    """Subject and sender name in KOI8-R encoded-words, body in 8-bit KOI8-R."""
    return (
        f"From: {encoded_word('Пётр Кузнецов', 'koi8-r')} <petr@koi8.ru>\r\n"
        "To: sales@svyaz.test\r\n"
        f"Subject: {encoded_word('Счёт на оплату', 'koi8-r', b=False)}\r\n"
        "Date: Mon, 30 Nov 2026 11:00:00 +0300\r\n"
        f"Message-ID: {message_id or new_id()}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "Добрый день! Пришлите, пожалуйста, счёт.\r\n".encode("koi8-r")


def cp1251_raw_headers(*, message_id: str | None = None) -> bytes:
    """An old mailer: raw 8-bit Windows-1251 in the headers (no encoded-words), body
    quoted-printable in Windows-1251 inside multipart/alternative with HTML."""
    import quopri

    text = quopri.encodestring("Здравствуйте! Интересует доставка в Казань.".encode("cp1251"))
    html = quopri.encodestring(
        "<html><body><p>Здравствуйте!</p><script>alert(1)</script></body></html>".encode("cp1251")
    )
    return (
        b"From: "
        + "Ольга Смирнова".encode("cp1251")
        + b" <olga@cp1251.ru>\r\nTo: sales@svyaz.test\r\nSubject: "
        + "Вопрос о доставке".encode("cp1251")
        + b"\r\nDate: Mon, 30 Nov 2026 12:00:00 +0300\r\n"
        + f"Message-ID: {message_id or new_id()}\r\n".encode()
        + b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=ALT\r\n\r\n"
        + b"--ALT\r\nContent-Type: text/plain; charset=windows-1251\r\n"
        + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + text
        + b"\r\n--ALT\r\nContent-Type: text/html; charset=windows-1251\r\n"
        + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + html
        + b"\r\n--ALT--\r\n"
    )


def with_attachments(
    *, sender: str = "ivan@client.ru", big: int = 0, message_id: str | None = None
) -> bytes:
    """multipart/mixed: a KOI8-R body, a PDF with an RFC 2231 Cyrillic name, a CSV with an
    RFC 2047 Windows-1251 name, and optionally a `big`-byte binary."""
    pdf = base64.encodebytes(b"%PDF-1.4 fake pdf bytes").decode()
    csv = base64.encodebytes("номер;сумма\n1;100\n".encode("cp1251")).decode()
    parts = [
        "--MIX\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64"
        "\r\n\r\n" + base64.encodebytes("Договор во вложении.".encode("koi8-r")).decode(),
        "--MIX\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=utf-8''%D0%B4%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + pdf,
        f'--MIX\r\nContent-Type: text/csv; name="{encoded_word("счёт.csv", "windows-1251")}"\r\n'
        f'Content-Disposition: attachment; filename="{encoded_word("счёт.csv", "windows-1251")}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + csv,
    ]
    if big:
        parts.append(
            "--MIX\r\nContent-Type: application/octet-stream\r\n"
            'Content-Disposition: attachment; filename="../../etc/big.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"\x00" * big).decode()
        )
    return (
        f"From: {sender}\r\nTo: sales@svyaz.test\r\nSubject: Contract\r\n"
        f"Date: Mon, 30 Nov 2026 13:00:00 +0300\r\nMessage-ID: {message_id or new_id()}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=MIX\r\n\r\n"
        + "\r\n".join(parts)
        + "\r\n--MIX--\r\n"
    ).encode("ascii")


GARBAGE = b"\x00\x01\x02\xff\xfe binary noise, not a message \x00\r\n\x00"
NO_SENDER = b"To: sales@svyaz.test\r\nSubject: who am I\r\n\r\nno From header at all\r\n"
