from __future__ import annotations

import pytest

from svyaz.dataquality.fields import guess_field, guess_mapping, normalize_header


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Фамилия", "last_name"),
        ("  ИМЯ ", "first_name"),
        ("Отчество", "middle_name"),
        ("Моб. телефон", "phone"),
        ("Телефон", "phone"),
        ("E-mail", "email"),
        ("Почта", "email"),
        ("Организация", "company"),
        ("Компания", "company"),
        ("Город", "city"),
        ("Должность", "job_title"),
        ("Источник", "source"),
        ("ФИО", "full_name"),
        ("Last name", "last_name"),
        ("First Name", "first_name"),
        ("Phone", "phone"),
        ("Mobile phone", "phone"),
        ("Email Address", "email"),
        ("Company", "company"),
        ("Job title", "job_title"),
        ("Телефн", "phone"),  # fuzzy: a typo
        ("Emial", "email"),  # fuzzy: a typo
        ("Фамилиия", "last_name"),  # fuzzy: a typo
        ("Favourite colour", ""),
    ],
)
def test_it_guesses_contact_fields_from_ru_and_en_headers(header, field):
    assert guess_field(header, "contact") == field


def test_it_guesses_company_fields():
    assert guess_field("ИНН", "company") == "inn"
    assert guess_field("Наименование", "company") == "name"
    assert guess_field("Сайт", "company") == "website"


def test_it_maps_repeatable_fields_to_several_columns_and_others_once():
    mapping = guess_mapping(["Имя", "Телефон", "Моб. телефон", "Имя"], "contact")
    assert mapping == {"0": "first_name", "1": "phone", "2": "phone"}


def test_it_normalizes_headers():
    assert normalize_header("  Моб.  телефон:") == "моб телефон"
    assert normalize_header("\ufeffE-Mail") == "e mail"
    assert normalize_header("Ёмкость") == "емкость"
