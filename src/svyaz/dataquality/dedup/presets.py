"""Engine configurations: CRM contacts, CRM companies, and the FEBRL benchmark schema.

Weights follow the discriminating power of each field (roughly log2 of m/u in
Fellegi–Sunter terms: how much more often a true duplicate agrees on it than two random
records do): an id or a phone number says far more than a state or a city.
"""

from __future__ import annotations

from svyaz.dataquality.dedup.engine import Engine, Field, Rule, key

# --- CRM contacts -------------------------------------------------------------------------
# Record: id, first_name, middle_name, last_name, birthday, phones (list), emails (list),
# companies (list of names, joined into one text), city, postal_code, street.
CONTACT_FIELDS = [
    Field("last_name", "name", 3.0),
    Field("first_name", "name", 2.0),
    Field("middle_name", "name", 1.0),
    Field("birthday", "date", 3.0),
    # People have several phones and e-mails and change them, jobs and addresses: a
    # different one is weaker evidence against than the same one is for.
    Field("phones", "phone", 5.0, many=True, disagree=3.0),
    Field("emails", "email", 5.0, many=True, disagree=3.0),
    Field("company", "company", 1.5, disagree=0.5),
    Field("city", "text", 0.5, disagree=0.3),
    Field("postal_code", "code", 1.0, disagree=0.5),
    Field("street", "text", 1.0, disagree=0.5),
]

CONTACT_RULES = [
    Rule("phone", key("phones")),
    Rule("email", key("emails")),
    # The same mailbox name at another provider (ivan.petrov@mail.ru / @gmail.com).
    Rule("mailbox", key("emails:local", "last_name:initial")),
    Rule("name", key("last_name:soundex", "first_name:soundex", unordered=True)),
    Rule("name_birthday", key("last_name:initial", "birthday")),
    Rule("name_postcode", key("postal_code", "last_name:initial", "first_name:initial")),
]


def contact_engine(*, threshold: float = 0.7, default_cc: str = "7") -> Engine:
    return Engine(
        fields=CONTACT_FIELDS,
        rules=CONTACT_RULES,
        threshold=threshold,
        swaps=[("last_name", "first_name")],
        sort_fields=["last_name", "first_name", "middle_name", "city"],
        # Two contacts that share only a name are not a confident duplicate: the three name
        # parts weigh 6, so a pair alike only in name scores at most 0.6; a name and a
        # phone (11) or a name and a birthday (9, → 0.9) pass.
        min_evidence=10.0,
        default_cc=default_cc,
    )


# --- CRM companies ------------------------------------------------------------------------
COMPANY_FIELDS = [
    Field("name", "company", 3.0),
    Field("inn", "code", 6.0),
    Field("phones", "phone", 4.0, many=True, disagree=2.0),
    Field("emails", "email", 4.0, many=True, disagree=2.0),
    Field("website", "domain", 4.0, disagree=2.0),
    Field("city", "text", 0.5, disagree=0.3),
    Field("postal_code", "code", 0.5, disagree=0.3),
    Field("street", "text", 1.0, disagree=0.5),
]

COMPANY_RULES = [
    Rule("inn", key("inn")),
    Rule("phone", key("phones")),
    Rule("email", key("emails")),
    Rule("website", key("website")),
    Rule("name", key("name:prefix5")),
]


def company_engine(*, threshold: float = 0.7, default_cc: str = "7") -> Engine:
    return Engine(
        fields=COMPANY_FIELDS,
        rules=COMPANY_RULES,
        threshold=threshold,
        sort_fields=["name", "city"],
        min_evidence=6.0,
        default_cc=default_cc,
    )


# --- FEBRL (benchmarks) -------------------------------------------------------------------
FEBRL_FIELDS = [
    Field("given_name", "name", 3.0),
    Field("surname", "name", 4.0),
    Field("street_number", "code", 1.5),
    Field("address_1", "text", 2.5),
    Field("address_2", "text", 1.0),
    Field("suburb", "text", 2.0),
    Field("postcode", "code", 2.0),
    Field("state", "exact", 0.5),
    Field("date_of_birth", "date", 4.0),
    Field("soc_sec_id", "code", 6.0),
]

FEBRL_RULES = [
    Rule("ssn", key("soc_sec_id")),
    Rule("dob", key("date_of_birth")),
    Rule("name", key("surname:soundex", "given_name:soundex", unordered=True)),
    Rule("postcode_name", key("postcode", "surname:initial")),
    Rule("address", key("address_1:prefix4", "street_number")),
]


def febrl_engine(*, threshold: float = 0.4) -> Engine:
    return Engine(
        fields=FEBRL_FIELDS,
        rules=FEBRL_RULES,
        threshold=threshold,
        swaps=[("given_name", "surname")],
        sort_fields=["surname", "given_name", "date_of_birth"],
        default_cc="",
    )
