from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from svyaz.contacts import services
from svyaz.contacts.models import Company, Contact, ContactCompany, Email, Phone
from svyaz.core.models import CustomField, TimelineEntry

pytestmark = pytest.mark.django_db


def test_it_creates_a_contact_with_normalized_phones_and_emails(
    manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        contact = services.contact_create(
            actor=manager,
            first_name="  Иван ",
            last_name="Петров",
            phones=["8 (916) 123-45-67", "+7 916 1234567", "+7 495 111-22-33"],
            emails=["Ivan.Petrov@Example.COM", " ivan.petrov@example.com "],
            tags="vip, VIP, опт",
        )
    assert contact.full_name == "Петров Иван"
    assert contact.owner == manager
    assert contact.department == manager.department
    assert list(contact.phones.values_list("number", "digits")) == [
        ("+79161234567", "79161234567"),
        ("+74951112233", "74951112233"),
    ]
    assert list(contact.emails.values_list("email", flat=True)) == ["ivan.petrov@example.com"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["vip", "опт"]
    entry = TimelineEntry.objects.get(contact=contact)
    assert entry.kind == "change" and entry.title == "Contact created"
    assert len(callbacks) == 1


def test_it_links_the_company_with_a_role(manager):
    company = services.company_create(actor=manager, name="Ромашка")
    contact = services.contact_create(actor=manager, first_name="Anna", company=company, role="CEO")
    link = ContactCompany.objects.get(contact=contact)
    assert (link.company, link.role, link.is_primary) == (company, "CEO", True)


def test_it_writes_nothing_when_an_email_is_bad(manager):
    with pytest.raises(ValidationError) as exc:
        services.contact_create(
            actor=manager, first_name="Anna", phones=["+79161234567"], emails=["not-an-email"]
        )
    assert "emails" in exc.value.message_dict
    assert Contact.all_objects.count() == 0
    assert Phone.objects.count() == 0
    assert Email.objects.count() == 0
    assert TimelineEntry.objects.count() == 0


def test_it_reports_every_bad_field_at_once(manager):
    with pytest.raises(ValidationError) as exc:
        services.contact_create(actor=manager, phones=["12"], emails=["@@"])
    assert set(exc.value.message_dict) >= {"first_name", "phones", "emails"}


def test_it_validates_custom_values(manager):
    CustomField.objects.create(
        entity="contact", code="size", label="Size", field_type="number", required=True
    )
    with pytest.raises(ValidationError) as exc:
        services.contact_create(actor=manager, first_name="Anna", custom={"size": "abc"})
    assert "custom.size" in exc.value.message_dict
    contact = services.contact_create(actor=manager, first_name="Anna", custom={"size": "12,5"})
    assert contact.custom == {"size": "12.5"}


def test_it_finds_duplicates_by_phone_in_any_format_and_email(manager, teammate):
    contact = services.contact_create(
        actor=teammate, first_name="Anna", phones=["+7 916 123-45-67"], emails=["anna@example.com"]
    )
    assert list(services.contact_find_duplicates(phones=["8 (916) 123-45-67"])) == [contact]
    assert list(services.contact_find_duplicates(emails=["ANNA@example.com"])) == [contact]
    assert list(services.contact_find_duplicates(phones=["+7 916 000-00-00"])) == []
    assert list(services.contact_find_duplicates()) == []
    contact.deleted_at = contact.created_at
    contact.save()
    assert list(services.contact_find_duplicates(emails=["anna@example.com"])) == []


def test_it_finds_company_duplicates_by_inn_name_and_phone(manager):
    company = services.company_create(
        actor=manager, name="ООО Ромашка", inn="7707083893", phones=["84951112233"]
    )
    assert list(services.company_find_duplicates(inn="7707083893")) == [company]
    assert list(services.company_find_duplicates(name="ооо ромашка")) == [company]
    assert list(services.company_find_duplicates(phones=["+7 495 111 22 33"])) == [company]
    assert list(services.company_find_duplicates(name="Другая")) == []


@pytest.mark.parametrize(
    ("inn", "ok"),
    [
        ("7707083893", True),
        ("7707083894", False),
        ("500100732259", True),
        ("500100732258", False),
        ("12345", False),
        ("abcdefghij", False),
    ],
)
def test_it_checks_the_inn_checksum(inn, ok):
    assert services.inn_is_valid(inn) is ok


def test_it_rejects_a_bad_inn_and_kpp(manager):
    with pytest.raises(ValidationError) as exc:
        services.company_create(actor=manager, name="X", inn="7707083894", kpp="12")
    assert set(exc.value.message_dict) == {"inn", "kpp"}
    assert Company.all_objects.count() == 0
    # Outside Russia the INN checksum does not apply.
    services.company_create(actor=manager, name="X GmbH", country="DE", tax_id="DE123")


def test_it_updates_a_contact_and_writes_one_change_row(manager, teammate):
    contact = services.contact_create(
        actor=manager, first_name="Anna", last_name="Petrova", phones=["+79161234567"]
    )
    services.contact_update(
        actor=manager,
        contact=contact,
        data={
            "last_name": "Smirnova",
            "job_title": "CEO",
            "phones": ["8 916 765 43 21"],
            "owner": teammate,
        },
    )
    contact.refresh_from_db()
    assert contact.full_name == "Smirnova Anna"
    assert list(contact.phones.values_list("number", flat=True)) == ["+79167654321"]
    rows = TimelineEntry.objects.filter(contact=contact, title__startswith="Changed")
    assert rows.count() == 1
    changes = {c["field"]: (c["old"], c["new"]) for c in rows.get().data["changes"]}
    assert changes["last_name"] == ("Petrova", "Smirnova")
    assert changes["phones"] == ("+79161234567", "+79167654321")
    assert "owner" in changes


def test_it_writes_no_row_when_nothing_changed(manager):
    contact = services.contact_create(actor=manager, first_name="Anna")
    services.contact_update(actor=manager, contact=contact, data={"first_name": "Anna"})
    assert TimelineEntry.objects.filter(contact=contact).count() == 1


def test_it_keeps_the_contact_intact_on_a_bad_update(manager):
    contact = services.contact_create(actor=manager, first_name="Anna", emails=["a@example.com"])
    with pytest.raises(ValidationError):
        services.contact_update(
            actor=manager, contact=contact, data={"first_name": "", "emails": ["bad"]}
        )
    contact.refresh_from_db()
    assert contact.first_name == "Anna"
    assert list(contact.emails.values_list("email", flat=True)) == ["a@example.com"]


def test_it_updates_a_company(manager):
    company = services.company_create(actor=manager, name="Ромашка")
    services.company_update(
        actor=manager, company=company, data={"name": "Ромашка-2", "inn": "7707083893"}
    )
    entry = TimelineEntry.objects.filter(company=company).first()
    assert "name" in [c["field"] for c in entry.data["changes"]]
    with pytest.raises(ValidationError) as exc:
        services.company_update(actor=manager, company=company, data={"inn": "1"})
    assert "inn" in exc.value.message_dict


def test_it_links_a_contact_once(manager):
    company = services.company_create(actor=manager, name="Ромашка")
    contact = services.contact_create(actor=manager, first_name="Anna")
    services.contact_link_company(actor=manager, contact=contact, company=company, role="CFO")
    services.contact_link_company(actor=manager, contact=contact, company=company, role="CEO")
    assert ContactCompany.objects.get().role == "CEO"
    assert TimelineEntry.objects.filter(company=company, contact=contact).count() == 1
