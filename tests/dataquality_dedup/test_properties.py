"""Properties of the score: symmetric, within [0, 1], identical records score 1."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from svyaz.dataquality.dedup.presets import company_engine, contact_engine, febrl_engine

CONTACT = contact_engine()
COMPANY = company_engine()
FEBRL = febrl_engine()

letters = st.text(
    alphabet="абвгдеёжзийклмнопрстуфхцчшщыэюяabcdefghijklmnopqrstuvwxyz -'", max_size=14
)
phones = st.lists(
    st.from_regex(r"(\+7|8)?[ (]?9\d{2}[) ]?\d{3}-?\d{2}-?\d{2}", fullmatch=True), max_size=2
)
emails = st.lists(st.from_regex(r"[a-z]{1,8}@[a-z]{1,6}\.(ru|com)", fullmatch=True), max_size=2)
dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))

contact = st.fixed_dictionaries(
    {
        "first_name": letters,
        "last_name": letters,
        "middle_name": letters,
        "birthday": dates,
        "phones": phones,
        "emails": emails,
        "company": letters,
        "city": letters,
        "postal_code": st.from_regex(r"\d{0,6}", fullmatch=True),
    }
)
febrl = st.fixed_dictionaries(
    {
        "given_name": letters,
        "surname": letters,
        "street_number": st.from_regex(r"\d{0,3}", fullmatch=True),
        "address_1": letters,
        "suburb": letters,
        "postcode": st.from_regex(r"\d{4}", fullmatch=True),
        "state": st.sampled_from(["nsw", "vic", "qld", ""]),
        "date_of_birth": st.from_regex(r"(19|20)\d{6}", fullmatch=True),
        "soc_sec_id": st.from_regex(r"\d{7}", fullmatch=True),
    }
)
company = st.fixed_dictionaries(
    {
        "name": letters,
        "inn": st.from_regex(r"\d{0,12}", fullmatch=True),
        "phones": phones,
        "emails": emails,
    }
)


@settings(max_examples=60, deadline=None)
@given(contact, contact)
def test_it_contact_score_is_symmetric_and_bounded(a, b):
    s = CONTACT.score(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - CONTACT.score(b, a)) < 1e-9


@settings(max_examples=60, deadline=None)
@given(febrl, febrl)
def test_it_febrl_score_is_symmetric_and_bounded(a, b):
    s = FEBRL.score(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - FEBRL.score(b, a)) < 1e-9


@settings(max_examples=60, deadline=None)
@given(company, company)
def test_it_company_score_is_symmetric_and_bounded(a, b):
    s = COMPANY.score(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - COMPANY.score(b, a)) < 1e-9


@settings(max_examples=60, deadline=None)
@given(contact)
def test_it_identical_contacts_score_one_when_they_have_an_identifier(a):
    # Enough evidence (a phone and an email weigh 10 = min_evidence): nothing shrinks it.
    a = {**a, "phones": a["phones"] or ["+79161234567"], "emails": a["emails"] or ["a@b.ru"]}
    assert CONTACT.score(a, dict(a)) == 1.0


@settings(max_examples=60, deadline=None)
@given(febrl)
def test_it_identical_febrl_records_score_one(a):
    assert FEBRL.score(a, dict(a)) == 1.0
