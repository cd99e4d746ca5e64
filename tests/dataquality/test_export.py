from __future__ import annotations

import io
from datetime import date

from django.urls import reverse
from openpyxl import load_workbook

from svyaz.contacts import services as contact_services


def _xlsx(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_xlsx_export_respects_filters_scope_and_neutralizes_formulas(
    manager_client, manager, outsider
):
    contact_services.contact_create(actor=manager, first_name="=HYPERLINK(1)", last_name="Evil")
    contact_services.contact_create(
        actor=manager, first_name="Anna", last_name="Ok", job_title="-x"
    )
    contact_services.contact_create(actor=outsider, first_name="Hidden", last_name="Other")
    rows = _xlsx(manager_client.get(reverse("contacts:contact_list") + "?export=xlsx"))
    assert rows[0][0] == "Name"
    names = [r[0] for r in rows[1:]]
    assert "Evil =HYPERLINK(1)" in names and "Ok Anna" in names
    assert not any("Hidden" in (n or "") for n in names)

    contact_services.contact_create(actor=manager, first_name="+cmd", last_name="")
    rows = _xlsx(manager_client.get(reverse("contacts:contact_list") + "?export=xlsx&q=cmd"))
    assert [r[0] for r in rows[1:]] == ["'+cmd"]


def test_xlsx_export_of_companies(manager_client, manager):
    contact_services.company_create(actor=manager, name="@Acme", inn="7707083893")
    rows = _xlsx(manager_client.get(reverse("contacts:company_list") + "?export=xlsx"))
    assert rows[1][0] == "'@Acme" and rows[1][1] == "7707083893"


def test_csv_export_still_works(manager_client, manager):
    contact_services.contact_create(actor=manager, first_name="Anna")
    response = manager_client.get(reverse("contacts:contact_list") + "?export=csv")
    assert "Anna" in b"".join(response.streaming_content).decode()


def test_vcard_of_a_contact(manager_client, manager):
    company = contact_services.company_create(actor=manager, name="Ромашка; ООО")
    contact = contact_services.contact_create(
        actor=manager,
        first_name="Иван",
        last_name="Иванов",
        middle_name="Иванович",
        phones=["+79161234567"],
        emails=["ivan@example.com"],
        company=company,
        job_title="Директор",
        birthday=date(1980, 5, 17),
        addresses=[{"city": "Москва", "street": "Тверская, 1"}],
        description="line1\nline2",
    )
    response = manager_client.get(reverse("dataquality:contact_vcard", args=[contact.pk]))
    assert response["Content-Type"].startswith("text/vcard")
    text = response.content.decode()
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCARD" and lines[1] == "VERSION:3.0"
    assert "N:Иванов;Иван;Иванович;;" in lines
    assert "FN:Иванов Иван Иванович" in lines
    assert "ORG:Ромашка\\; ООО" in lines
    assert "TEL;TYPE=CELL,PREF:+79161234567" in lines
    assert "EMAIL;TYPE=INTERNET,PREF:ivan@example.com" in lines
    assert "ADR;TYPE=WORK:;;Тверская\\, 1;Москва;;;RU" in lines
    assert "BDAY:1980-05-17" in lines and "NOTE:line1\\nline2" in lines
    assert text.endswith("END:VCARD\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)


def test_vcard_of_a_selection_and_of_the_filtered_list(manager_client, manager, outsider):
    a = contact_services.contact_create(actor=manager, first_name="Anna")
    b = contact_services.contact_create(actor=manager, first_name="Boris")
    hidden = contact_services.contact_create(actor=outsider, first_name="Hidden")
    url = reverse("dataquality:contacts_vcard")
    text = manager_client.get(url, {"ids": [a.pk, hidden.pk]}).content.decode()
    assert text.count("BEGIN:VCARD") == 1 and "Anna" in text
    text = manager_client.get(url, {"q": "Boris"}).content.decode()
    assert text.count("BEGIN:VCARD") == 1 and "Boris" in text
    text = manager_client.get(url).content.decode()
    assert text.count("BEGIN:VCARD") == 2 and "Hidden" not in text
    assert b.pk


def test_vcard_out_of_scope_is_404(client, outsider, manager):
    contact = contact_services.contact_create(actor=manager, first_name="Anna")
    client.force_login(outsider)
    assert client.get(reverse("dataquality:contact_vcard", args=[contact.pk])).status_code == 404
