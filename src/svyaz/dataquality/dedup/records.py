"""Contacts and companies out of the database as engine records, streamed.

Never the whole base as model objects: each table is read with `values_list(...)
.iterator(chunk_size=…)` ordered by the owner id, and the streams (records, phones, emails,
addresses, company links) are merge-joined on that id, so memory holds one record's
children at a time. Soft-deleted records are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from svyaz.contacts.models import Address, Company, Contact, ContactCompany, Email, Phone

CHUNK = 5000


class _Children:
    """Values of one child table grouped by owner id, read in step with the owners."""

    def __init__(self, rows: Iterable[tuple]):
        self._rows = iter(rows)
        self._head = next(self._rows, None)

    def take(self, owner_id: int) -> list[tuple]:
        out = []
        head = self._head
        while head is not None and head[0] < owner_id:
            head = next(self._rows, None)
        while head is not None and head[0] == owner_id:
            out.append(head[1:])
            head = next(self._rows, None)
        self._head = head
        return out


def _stream(qs, *fields: str):
    return qs.order_by(fields[0], "pk").values_list(*fields).iterator(chunk_size=CHUNK)


def contact_records() -> Iterator[dict]:
    live = {"contact__deleted_at__isnull": True}
    phones = _Children(
        _stream(Phone.objects.filter(contact__isnull=False, **live), "contact_id", "digits")
    )
    emails = _Children(
        _stream(Email.objects.filter(contact__isnull=False, **live), "contact_id", "email")
    )
    addresses = _Children(
        _stream(
            Address.objects.filter(contact__isnull=False, **live),
            "contact_id",
            "city",
            "postal_code",
            "street",
        )
    )
    companies = _Children(
        _stream(
            ContactCompany.objects.filter(**live, company__deleted_at__isnull=True),
            "contact_id",
            "company__name",
        )
    )
    rows = _stream(
        Contact.objects.all(), "id", "first_name", "middle_name", "last_name", "birthday"
    )
    for pk, first, middle, last, birthday in rows:
        address = addresses.take(pk)
        city, postal_code, street = address[0] if address else (None, None, None)
        yield {
            "id": pk,
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "birthday": birthday,
            "phones": [p[0] for p in phones.take(pk)],
            "emails": [e[0] for e in emails.take(pk)],
            "company": " ".join(c[0] for c in companies.take(pk)) or None,
            "city": city,
            "postal_code": postal_code,
            "street": street,
        }


def company_records() -> Iterator[dict]:
    live = {"company__deleted_at__isnull": True}
    phones = _Children(
        _stream(Phone.objects.filter(company__isnull=False, **live), "company_id", "digits")
    )
    emails = _Children(
        _stream(Email.objects.filter(company__isnull=False, **live), "company_id", "email")
    )
    addresses = _Children(
        _stream(
            Address.objects.filter(company__isnull=False, **live),
            "company_id",
            "city",
            "postal_code",
            "street",
        )
    )
    rows = _stream(Company.objects.all(), "id", "name", "inn", "website")
    for pk, name, inn, website in rows:
        address = addresses.take(pk)
        city, postal_code, street = address[0] if address else (None, None, None)
        yield {
            "id": pk,
            "name": name,
            "inn": inn,
            "website": website,
            "phones": [p[0] for p in phones.take(pk)],
            "emails": [e[0] for e in emails.take(pk)],
            "city": city,
            "postal_code": postal_code,
            "street": street,
        }
