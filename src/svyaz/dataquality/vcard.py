"""vCard 3.0 (RFC 2426) of contacts: what phones and address books import."""

from __future__ import annotations

from collections.abc import Iterable

from svyaz.contacts.models import Contact


def _escape(value) -> str:
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 2425)."""
    out, current = [], b""
    for ch in line:
        b = ch.encode()
        if len(current) + len(b) > 75:
            out.append(current.decode())
            current = b" "
        current += b
    out.append(current.decode())
    return "\r\n".join(out)


def contact_vcard_lines(contact: Contact) -> list[str]:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:"
        + ";".join(
            _escape(p) for p in (contact.last_name, contact.first_name, contact.middle_name, "", "")
        ),
        "FN:" + _escape(contact.full_name or contact.compose_full_name() or "—"),
    ]
    companies = [m.company for m in contact.memberships.all() if m.company.deleted_at is None]
    if companies:
        lines.append("ORG:" + _escape(companies[0].name))
    if contact.job_title:
        lines.append("TITLE:" + _escape(contact.job_title))
    for phone in contact.phones.all():
        kind = {"mobile": "CELL", "work": "WORK", "home": "HOME"}.get(phone.kind, "VOICE")
        pref = ",PREF" if phone.is_primary else ""
        lines.append(f"TEL;TYPE={kind}{pref}:{_escape(phone.number)}")
    for email in contact.emails.all():
        pref = ",PREF" if email.is_primary else ""
        lines.append(f"EMAIL;TYPE=INTERNET{pref}:{_escape(email.email)}")
    for a in contact.addresss.all():
        kind = "HOME" if a.kind == "home" else "WORK"
        parts = ("", "", a.street, a.city, a.region, a.postal_code, a.country)
        lines.append(f"ADR;TYPE={kind}:" + ";".join(_escape(p) for p in parts))
    if contact.birthday:
        lines.append(f"BDAY:{contact.birthday.isoformat()}")
    if contact.description:
        lines.append("NOTE:" + _escape(contact.description))
    lines.append(f"UID:svyaz-contact-{contact.pk}")
    lines.append("END:VCARD")
    return lines


def contacts_vcard(contacts: Iterable[Contact]) -> str:
    return "".join(
        "\r\n".join(_fold(line) for line in contact_vcard_lines(c)) + "\r\n" for c in contacts
    )
