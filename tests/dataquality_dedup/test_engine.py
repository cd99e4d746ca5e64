"""The matching engine alone: no database, no Django."""

from __future__ import annotations

import datetime as dt

import pytest

from svyaz.dataquality.dedup import Engine, Field, Rule, key
from svyaz.dataquality.dedup import normalize as norm
from svyaz.dataquality.dedup.presets import company_engine, contact_engine


def test_it_normalizes_names_to_one_latin_skeleton():
    forms = ["Юрий", "Yuri", "Iurii", "Jurij", "YURIY"]
    assert {norm.name(f) for f in forms} == {"iuri"}
    assert norm.name("Щукина") == norm.name("Shchukina") == norm.name("Schukina")
    assert norm.name("  ") is None


def test_it_normalizes_phones_emails_dates():
    assert norm.phone("8 (916) 123-45-67") == "79161234567"
    assert norm.phone("+7 916 123 45 67") == "79161234567"
    assert norm.phone("916 123-45-67") == "79161234567"
    assert norm.phone("12-34") is None
    assert norm.email("  Anna@Example.COM ") == "anna@example.com"
    assert norm.email("not an email") is None
    assert norm.date(dt.date(1980, 2, 3)) == "19800203"
    assert norm.date("03.02.1980") == norm.date("1980-02-03") == "19800203"
    assert norm.company_name('ООО "Ромашка"') == norm.company_name("Romashka LLC") == "romashka"


def test_it_soundex_is_the_classic_one():
    assert norm.soundex("robert") == norm.soundex("rupert") == "r163"
    assert norm.soundex("tymczak") == "t522"
    assert norm.soundex("") == ""


@pytest.fixture
def engine():
    return contact_engine(threshold=0.75)


def test_it_scores_typo_transliteration_and_phone_format_duplicates_high(engine):
    a = {"id": 1, "first_name": "Юрий", "last_name": "Щукин", "phones": ["8 (916) 123-45-67"]}
    b = {"id": 2, "first_name": "Yuri", "last_name": "Shchukin", "phones": ["+79161234567"]}
    c = {"id": 3, "first_name": "Юрий", "last_name": "Щукн", "emails": ["Y.Shchukin@Mail.ru"]}
    d = {"id": 4, "first_name": "Юра", "last_name": "Щукин", "emails": ["y.shchukin@mail.ru"]}
    assert engine.score(a, b) >= 0.95
    assert engine.score(c, d) >= 0.85
    swapped = {"id": 5, "first_name": "Щукин", "last_name": "Юрий", "phones": ["9161234567"]}
    assert engine.score(a, swapped) >= 0.95


def test_it_scores_different_people_low(engine):
    a = {"id": 1, "first_name": "Анна", "last_name": "Петрова", "phones": ["+79161111111"],
         "emails": ["anna@a.ru"], "birthday": "1980-01-01"}  # fmt: skip
    b = {"id": 2, "first_name": "Борис", "last_name": "Иванов", "phones": ["+79162222222"],
         "emails": ["boris@b.ru"], "birthday": "1975-06-30"}  # fmt: skip
    assert engine.score(a, b) < 0.2
    # Namesakes with different phones and birthdays are not duplicates either.
    c = {**a, "id": 3, "phones": ["+79033333333"], "emails": [], "birthday": "1991-09-09"}
    assert engine.score(a, c) < 0.6
    # Sharing only a name is never a confident duplicate.
    assert engine.score({"first_name": "Иван", "last_name": "Иванов"},
                        {"first_name": "Иван", "last_name": "Иванов"}) <= 0.6  # fmt: skip


FIRST = [
    "Анна",
    "Борис",
    "Вера",
    "Глеб",
    "Дарья",
    "Егор",
    "Жанна",
    "Зоя",
    "Игорь",
    "Кира",
    "Лев",
    "Мария",
    "Никита",
    "Ольга",
    "Павел",
    "Роза",
    "Семён",
    "Тамара",
    "Ульяна",
    "Фёдор",
]
LAST = [
    "Орлов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Зайцев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
]


def test_it_blocking_finds_the_pairs_without_comparing_everything(engine):
    people = [
        {"id": i, "first_name": FIRST[i % 20], "last_name": LAST[(i * 7 + i // 20) % 20],
         "phones": [f"+7916{(i * 7919) % 10**7:07d}"], "emails": [f"user{i * 31}@example.com"]}
        for i in range(1, 401)
    ]  # fmt: skip
    seven, nine = people[6], people[8]
    people.append({"id": 1001, "first_name": seven["first_name"], "last_name": seven["last_name"],
                   "phones": ["8" + seven["phones"][0][2:]]})  # fmt: skip
    people.append({"id": 1002, "first_name": "Kira", "last_name": nine["last_name"] + "a",
                   "emails": [nine["emails"][0].upper()]})  # fmt: skip
    assert nine["first_name"] == "Кира"
    found = {(m.a, m.b) for m in engine.find(people)}
    assert found == {(7, 1001), (9, 1002)}
    # 402 records are 80,601 pairs; blocking compares a small fraction of them.
    assert engine.stats["compared"] < 8000


def test_it_compares_oversized_blocks_by_sorted_neighbourhood():
    engine = Engine(
        fields=[Field("last_name", "name", 1.0), Field("phones", "phone", 3.0, many=True)],
        rules=[Rule("name", key("last_name:soundex"))],
        threshold=0.9,
        sort_fields=["last_name"],
        max_block=10,
        window=3,
    )
    rows = [{"id": i, "last_name": "Smith", "phones": [f"+1555000{i:04d}"]} for i in range(200)]
    rows.append({"id": 999, "last_name": "Smith", "phones": ["+15550000042"]})
    list(engine.find(rows))
    # n * window, not n²/2.
    assert engine.stats["compared"] <= 201 * 3


def test_it_yields_each_pair_once_when_it_shares_several_keys(engine):
    a = {"id": 1, "first_name": "Anna", "last_name": "Lee", "phones": ["+79161234567", "+79031112233"],
         "emails": ["anna@lee.ru"]}  # fmt: skip
    b = {**a, "id": 2}
    matches = list(engine.find([a, b]))
    assert [(m.a, m.b) for m in matches] == [(1, 2)]
    assert matches[0].score == 1.0


def test_it_explains_per_field(engine):
    a = {"first_name": "Anna", "last_name": "Lee", "phones": ["+79161234567"]}
    b = {"first_name": "Ann", "last_name": "Lee", "phones": ["89161234567"], "emails": ["x@y.z"]}
    reasons = engine.explain(a, b)
    assert reasons["last_name"] == 1.0 and reasons["phones"] == 1.0
    assert 0 < reasons["first_name"] < 1
    assert "emails" not in reasons  # only one side has it


def test_it_matches_companies_by_inn_and_name_variants():
    engine = company_engine()
    a = {"name": 'ООО "Ромашка"', "inn": "7701234567", "website": "https://www.romashka.ru/"}
    b = {"name": "Romashka LLC", "inn": "7701234567", "website": "romashka.ru"}
    c = {"name": "Василёк", "inn": "7709999999"}
    assert engine.score(a, b) == 1.0
    assert engine.score(a, c) < 0.2


def test_it_refuses_a_bad_configuration():
    with pytest.raises(ValueError):
        Field("x", "nonsense", 1.0)
    with pytest.raises(ValueError):
        Field("x", "name", 0)
    with pytest.raises(ValueError):
        Engine(fields=[Field("x", "name", 1), Field("x", "text", 1)], rules=[])


def test_it_finds_the_same_pairs_in_two_processes(engine):
    people = [
        {"id": i, "first_name": FIRST[i % 20], "last_name": LAST[i % 17],
         "phones": [f"+7916{i % 150:07d}"]}
        for i in range(600)
    ]  # fmt: skip
    one = {(m.a, m.b, round(m.score, 6)) for m in engine.find(people)}
    compared = engine.stats["compared"]
    two = {(m.a, m.b, round(m.score, 6)) for m in engine.find(people, workers=2)}
    assert one and one == two
    assert engine.stats["compared"] == compared
