"""SQLite FTS5 trigram candidates for the search (contacts.0005, core.search.fts_filter).

The FTS path must give exactly what the plain path (Python case folding on every row)
gives; the triggers must keep the FTS tables in step with every write path."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from svyaz.contacts import selectors, services
from svyaz.contacts.models import Company, Contact, Email, Phone
from svyaz.core import search
from svyaz.core.search import FTS_TABLES, fts_quote, global_search
from svyaz.sales.models import Deal, Lead

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 only"),
]

NAMES = [
    ("Иван", "Петров"),
    ("ИВАН", "Рябова"),
    ("Семён", "Сёмин"),
    ("Семен", "Семина"),
    ("Ёлка", "Ёжикова"),
    ("John", "O'Brien"),
    ("Zoë", "Ångström"),
    ("Jürgen", "Straße"),
    ("İsmail", "ALİ"),  # "İ".lower() is two characters
    ("Οδυσσεας", "ΟΔΥΣΣΕΑΣ"),  # final sigma
    ("ᎠᎡᎢ", "Ꭳ"),  # Cherokee capitals: FTS5 does not fold them, Python does
    ("Мария-Луиза", 'Кафе "Пушкин"'),
    ("Анна", "100% Иванова_Петрова"),
    ("Ли", "Ю"),
    ("Bob", "SMITH-ИВАНОВ"),
]

QUERIES = [
    "иван",
    "ИВАН",
    "иВаН пЕтРоВ",
    "петров иван",
    "ив",
    "ов",
    "ли",
    "рябо",
    "сёмин",
    "семин",
    "семён",
    "ёлка",
    "елка",
    "o'brien",
    "O'BRIEN",
    "zoë",
    "ångström",
    "ÅNGSTRÖM",
    "straße",
    "STRASSE",
    "ali",
    "ALİ",
    "ali̇",
    "ismail",
    "σσεας",
    "ΟΔΥΣ",
    "ꭰꭱꭲ",
    "ᎠᎡᎢ",
    'кафе "пушкин"',
    '"пушкин"',
    '"',
    '""',
    '"""',
    "пушкин\"'",
    "100%",
    "%",
    "_петрова",
    "иванова_",
    "мария-луиза",
    "-луиза",
    "smith-иванов",
    "AND",
    "OR NOT",
    "иван OR петров",
    "NEAR(иван петров)",
    "иван*",
    "^иван",
    "full_name:иван",
    "иван ив",
    "ив ан ов",
    "a b c d e f g h",
    "x\x00yz",
    "tab\tтаб",
    "8 (916) 123-45-67",
    "+7 916 1234567",
    "9161234567",
    "916",
    "123-45",
    "4567",
    "+44 20 7946 0958",
    "89031112233",
    "12",
    "romashka.ru",
    "ROMASHKA",
    "@romashka",
    "ivan@romashka.ru",
    "IVAN@",
    "info@",
    ".ru",
    "oбщество",
    "ооо ромашка",
    "ООО",
    "7707083893",
    "770708",
    "поставка",
    "ОБОРУДОВАН",
    "запрос с сайта",
    "мария",
    "8 (903) 555-44-33",
    "ромашка плюс",
    "несуществующее",
]


@pytest.fixture
def dataset(manager, admin, pipeline, teammate, outsider):
    contacts = []
    for i, (first, last) in enumerate(NAMES):
        contacts.append(
            services.contact_create(
                actor=admin,
                owner=[manager, teammate, outsider][i % 3],
                first_name=first,
                last_name=last,
                phones=[f"+7916{1234567 + i:07d}"] if i % 2 == 0 else ["8 (903) 111-22-33"],
                emails=[f"user{i}@romashka.ru" if i % 2 else f"Ivan{i}@Example.COM"],
            )
        )
    services.company_create(
        actor=manager,
        name="Ромашка",
        legal_name='ООО "Ромашка Плюс"',
        inn="7707083893",
        emails=["info@romashka.ru"],
        phones=["+44 20 7946 0958"],
    )
    services.company_create(actor=manager, name="Общество İSTANBUL", legal_name="ALİ ve Oğulları")
    services.company_create(actor=admin, owner=outsider, name="Сёмин и партнёры")
    stage = pipeline.stages.first()
    for title in ("Поставка ОБОРУДОВАНИЯ", "Ремонт Иванова", 'Сделка "Пушкин" 100%'):
        Deal.objects.create(
            title=title,
            pipeline=pipeline,
            stage=stage,
            owner=manager,
            department=manager.department,
        )
    Lead.objects.create(
        title="Запрос с сайта",
        first_name="Мария",
        last_name="Сёмина",
        company_name="Ромашка",
        email="maria@romashka.ru",
        phone="8 (903) 555-44-33",
        owner=manager,
        department=manager.department,
    )
    Lead.objects.create(title="Звонок", first_name="İsmail", owner=manager, department=None)
    # Soft-deleted: in the FTS table, never in the results.
    gone = services.contact_create(actor=manager, first_name="Иван", last_name="Удалённый")
    Contact.all_objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    return contacts


def _plain(monkeypatch):
    monkeypatch.setattr(search, "_fts_ready", lambda connection: False)


def _everything(user, q):
    """All that the search code returns for `q`: every group of the global search (no
    limit, in order) and the list searches of contacts and companies (ids, in order)."""
    return {
        "global": [
            (g.key, [(r["title"], r["url"]) for r in g.results])
            for g in global_search(user=user, q=q, limit=10_000)
        ],
        "contacts": list(
            selectors.contact_search(selectors.contact_list(user=user), q).values_list(
                "pk", flat=True
            )
        ),
        "companies": list(
            selectors.company_search(selectors.company_list(user=user), q)
            .order_by("name", "pk")
            .values_list("pk", flat=True)
        ),
    }


def _compare(users, queries, monkeypatch):
    fts = {(u.pk, q): _everything(u, q) for u in users for q in queries}
    with monkeypatch.context() as m:
        _plain(m)
        plain = {(u.pk, q): _everything(u, q) for u in users for q in queries}
    for key in plain:
        assert fts[key] == plain[key], key
    return fts


def test_it_returns_exactly_what_the_plain_search_returns(
    dataset, manager, admin, outsider, monkeypatch
):
    results = _compare([manager, admin, outsider], QUERIES, monkeypatch)
    # The comparison means something: the searches do find things.
    assert results[(admin.pk, "иван")]["contacts"]
    assert results[(admin.pk, "ali")]["contacts"]  # ALİ
    assert results[(admin.pk, "ꭰꭱꭲ")]["contacts"]  # Cherokee, folded by Python only
    assert results[(admin.pk, "9161234567")]["contacts"]
    assert results[(admin.pk, "romashka.ru")]["companies"]
    deals = dict(results[(manager.pk, "ОБОРУДОВАН")]["global"])["deals"]
    assert [title for title, _url in deals] == ["Поставка ОБОРУДОВАНИЯ"]
    assert not results[(outsider.pk, "рябо")]["contacts"]  # scope still applies


def test_it_returns_the_same_on_random_names_and_fragments(manager, admin, monkeypatch):
    rnd = random.Random(20261201)
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщыэюяАБВЕЁИКЛМОПРСТabcdeiklmnoKLMNOİ'\"-%_ "
    names = []
    for _ in range(60):
        first = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(3, 9))).strip() or "x"
        last = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(3, 12))).strip() or "y"
        names.append(
            services.contact_create(actor=manager, first_name=first, last_name=last).full_name
        )
    queries = set()
    for name in names:
        start = rnd.randrange(len(name))
        frag = name[start : start + rnd.randint(1, 6)]
        queries.add(frag.swapcase() if rnd.random() < 0.5 else frag)
    queries = sorted(q for q in queries if q.strip())
    _compare([manager, admin], queries, monkeypatch)


def test_it_uses_the_fts_tables_for_3_characters_and_more_only(dataset, manager):
    with CaptureQueriesContext(connection) as long_q:
        global_search(user=manager, q="иван")
    assert sum("MATCH" in q["sql"] for q in long_q.captured_queries) == 4  # the 4 groups
    with CaptureQueriesContext(connection) as short_q:
        global_search(user=manager, q="ив")
    assert not any("MATCH" in q["sql"] for q in short_q.captured_queries)
    with CaptureQueriesContext(connection) as phone_q:
        global_search(user=manager, q="8 (916) 123-45-67")
    # names of contacts (916, 123), companies, deals, leads; phones of contacts and companies
    assert sum(q["sql"].count("MATCH") for q in phone_q.captured_queries) == 6


def test_it_quotes_the_text_so_it_is_never_fts_syntax():
    assert fts_quote('a"b') == '"a""b"'
    assert fts_quote("x OR y") == '"x OR y"'
    assert fts_quote("NEAR(a b)") == '"NEAR(a b)"'


def test_it_leaves_out_words_fts5_folds_unlike_python():
    cased = [cp for cp in range(0x110000) if chr(cp).lower() != chr(cp)]
    assert max(cased) <= search._LAST_CASED
    unsafe = search._fold_unsafe_chars()
    assert "ꭰ" in unsafe  # Cherokee small letter: its capital is not folded by FTS5
    assert not any(ch in unsafe for ch in "абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcxyz0123456789@.")
    assert search.fts_filter("contact", ["ꭰꭱꭲ"]) is None
    assert search.fts_filter("contact", ["ив"]) is None
    assert search.fts_filter("contact", ["иван"]) is not None


def _fts_rows(key):
    table = FTS_TABLES[key]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid")  # noqa: S608
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _assert_in_step():
    """Each FTS table holds exactly the rows and texts of its source table."""
    fold = {"contact": True, "company": True, "deal": True, "lead": True}
    specs = {
        "contact": (Contact.all_objects, ["full_name"]),
        "company": (Company.all_objects, ["name", "legal_name"]),
        "phone": (Phone.objects, ["digits"]),
        "email": (Email.objects, ["email"]),
        "deal": (Deal.all_objects, ["title"]),
        "lead": (Lead.all_objects, ["title", "first_name", "last_name", "company_name"]),
    }
    for key, (manager, columns) in specs.items():
        expected = {
            row[0]: tuple(v.replace("\u0130", "i\u0307") if fold.get(key) else v for v in row[1:])
            for row in manager.values_list("pk", *columns)
        }
        assert _fts_rows(key) == expected, key


def test_the_triggers_keep_the_tables_in_step_on_every_write_path(
    dataset, manager, admin, pipeline
):
    _assert_in_step()
    contact = dataset[0]
    # service update: name, phones and e-mails replaced
    services.contact_update(
        actor=admin,
        contact=contact,
        data={"last_name": "Кузнецов", "phones": ["+7 926 000-11-22"], "emails": ["k@new.ru"]},
    )
    _assert_in_step()
    assert search.fts_filter("contact", ["кузнец"]) is not None
    assert [c.full_name for c in selectors.contact_search(Contact.objects.all(), "кузнец")] == [
        "Кузнецов Иван"
    ]
    assert list(selectors.contact_search(Contact.objects.all(), "9260001122")) == [contact]
    assert list(selectors.contact_search(Contact.objects.all(), "k@new.ru")) == [contact]
    assert not selectors.contact_search(Contact.objects.all(), "9161234567").filter(pk=contact.pk)
    # company update, deal and lead saves, raw SQL
    company = Company.objects.get(name="Ромашка")
    services.company_update(actor=manager, company=company, data={"name": "Василёк"})
    deal = Deal.objects.get(title="Ремонт Иванова")
    deal.title = "Ремонт Сидорова"
    deal.save()
    Lead.objects.filter(title="Звонок").update(last_name="Орлова")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE contacts_contact SET full_name = %s WHERE id = %s", ["Сырой SQL", dataset[1].pk]
        )
    _assert_in_step()
    assert [c.name for c in selectors.company_search(Company.objects.all(), "василёк")] == [
        "Василёк"
    ]
    # merge: the other's phones and e-mails move to the survivor
    from svyaz.dataquality.merge import merge_records

    survivor, other = dataset[3], dataset[5]
    other_phone = other.phones.get().digits
    merge_records(actor=admin, entity="contact", survivor_id=survivor.pk, other_id=other.pk)
    _assert_in_step()
    found = selectors.contact_search(Contact.objects.all(), other_phone)
    assert survivor in found and other not in found
    # soft delete (the row stays indexed, the queryset drops it), then hard delete
    from svyaz.core.services import record_soft_delete

    record_soft_delete(actor=admin, obj=dataset[4])
    _assert_in_step()
    assert not selectors.contact_search(Contact.objects.all(), "ёжиков")
    Contact.all_objects.filter(pk=dataset[4].pk).delete()
    Deal.objects.filter(title="Ремонт Сидорова").delete()
    _assert_in_step()
    # bulk_create goes through the insert trigger too
    Phone.objects.bulk_create(
        [Phone(contact=survivor, number="+79990001122", digits="79990001122")]
    )
    _assert_in_step()
    assert list(selectors.contact_search(Contact.objects.all(), "999000")) == [survivor]


def test_every_fts_table_and_trigger_exists_after_the_migrations():
    names = set(FTS_TABLES.values())
    names |= {f"{t}_{s}" for t in FTS_TABLES.values() for s in ("ai", "ad", "au")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
    assert names <= present, "a migration rebuilt a table and dropped its FTS triggers"
    assert search._fts_ready(connection)


def test_it_falls_back_to_the_plain_search_when_a_trigger_is_missing(dataset, manager):
    try:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER contacts_fts_contact_ai")
        connection._svyaz_fts_ready = None
        assert not search._fts_ready(connection)
        with CaptureQueriesContext(connection) as ctx:
            titles = [c.full_name for c in selectors.contact_search(Contact.objects.all(), "рябо")]
        assert titles == ["Рябова ИВАН"]
        assert not any("MATCH" in q["sql"] for q in ctx.captured_queries)
    finally:
        connection._svyaz_fts_ready = None  # the DROP is rolled back with the test


def test_migrate_repairs_a_search_table_whose_triggers_a_table_rebuild_dropped(dataset, manager):
    from svyaz.contacts.fts import repair_search_tables

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER contacts_fts_contact_ai")
        cursor.execute("DROP TRIGGER contacts_fts_contact_au")
    connection._svyaz_fts_ready = None
    assert not search._fts_ready(connection)
    # A contact written while the triggers were missing is picked up by the rebuild.
    Contact.objects.filter(full_name="Рябова ИВАН").update(full_name="Рябинина ИВАН")

    assert repair_search_tables() == ["contacts_fts_contact"]
    assert repair_search_tables() == []  # nothing left to repair
    try:
        assert search._fts_ready(connection)
        with CaptureQueriesContext(connection) as ctx:
            found = [c.full_name for c in selectors.contact_search(Contact.objects.all(), "рябин")]
        assert found == ["Рябинина ИВАН"]
        assert any("MATCH" in q["sql"] for q in ctx.captured_queries)
    finally:
        connection._svyaz_fts_ready = None
