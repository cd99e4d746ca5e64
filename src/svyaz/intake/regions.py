"""Where a request comes from and which language it speaks (routing by region and language).

Regions are ISO codes: a country ("RU", ISO 3166-1 alpha-2) or a part of one ("RU-MOW",
ISO 3166-2). A rule's region "RU" takes every request from Russia, "RU-MOW" only Moscow.
The region of a request comes from a form field ("city/region": a code or a name such as
"Москва" or "Новосибирская область") when it names a place we know, else from the phone
number: its country always, and for Russian landlines the subject of the federation by
the area code (+7 495 → RU-MOW). Mobile numbers tell the country only.

Languages are primary language subtags, lower case ("ru", "en", "kk"): from a form field,
the browser's `navigator.language` sent with a submission or the Accept-Language header.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

# ISO 3166-2:RU — the subjects of the Russian Federation.
RU_SUBDIVISIONS = frozenset([
    # republics
    "AD", "AL", "BA", "BU", "CE", "CU", "DA", "IN", "KB", "KL", "KC", "KR", "KK", "KO", "ME",
    "MO", "SA", "SE", "TA", "TY", "UD",
    # krais
    "ALT", "KAM", "KHA", "KDA", "KYA", "PER", "PRI", "STA", "ZAB",
    # oblasts
    "AMU", "ARK", "AST", "BEL", "BRY", "CHE", "IRK", "IVA", "KGD", "KLU", "KEM", "KIR", "KOS",
    "KGN", "KRS", "LEN", "LIP", "MAG", "MOS", "MUR", "NIZ", "NGR", "NVS", "OMS", "ORE", "ORL",
    "PNZ", "PSK", "ROS", "RYA", "SAK", "SAM", "SAR", "SMO", "SVE", "TAM", "TOM", "TUL", "TVE",
    "TYU", "ULY", "VLA", "VGG", "VLG", "VOR", "YAR",
    # federal cities, the autonomous oblast and the autonomous okrugs
    "MOW", "SPE", "YEV", "CHU", "KHM", "NEN", "YAN",
])  # fmt: skip

# Geographic area codes (ABC, the 3 digits after +7) → subject. Codes shared by several
# subjects or not in ISO 3166-2:RU are left out: those numbers give the country only.
RU_AREA_CODES = {
    "301": "BU", "302": "ZAB", "341": "UD", "342": "PER", "343": "SVE", "345": "TYU",
    "346": "KHM", "347": "BA", "349": "YAN", "351": "CHE", "352": "KGN", "353": "ORE",
    "381": "OMS", "382": "TOM", "383": "NVS", "384": "KEM", "385": "ALT", "388": "AL",
    "390": "KK", "391": "KYA", "394": "TY", "395": "IRK", "401": "KGD", "411": "SA",
    "413": "MAG", "415": "KAM", "416": "AMU", "421": "KHA", "423": "PRI", "424": "SAK",
    "426": "YEV", "427": "CHU", "471": "KRS", "472": "BEL", "473": "VOR", "474": "LIP",
    "475": "TAM", "481": "SMO", "482": "TVE", "483": "BRY", "484": "KLU", "485": "YAR",
    "486": "ORL", "487": "TUL", "491": "RYA", "492": "VLA", "493": "IVA", "494": "KOS",
    "495": "MOW", "496": "MOS", "498": "MOS", "499": "MOW", "811": "PSK", "812": "SPE",
    "813": "LEN", "814": "KR", "815": "MUR", "816": "NGR", "817": "VLG", "818": "ARK",
    "820": "VLG", "821": "KO", "831": "NIZ", "833": "KIR", "834": "MO", "835": "CU",
    "836": "ME", "841": "PNZ", "842": "ULY", "843": "TA", "844": "VGG", "845": "SAR",
    "846": "SAM", "847": "KL", "848": "SAM", "851": "AST", "855": "TA", "861": "KDA",
    "862": "KDA", "863": "ROS", "865": "STA", "866": "KB", "867": "SE", "871": "CE",
    "872": "DA", "873": "IN", "877": "AD", "878": "KC", "879": "STA",
}  # fmt: skip

# Names people type in a "city/region" field. The phone library's own place names for the
# area codes above are added at first use (see `_names`).
PLACE_NAMES = {
    "россия": "RU", "рф": "RU", "russia": "RU", "russian federation": "RU",
    "казахстан": "KZ", "kazakhstan": "KZ", "беларусь": "BY", "белоруссия": "BY",
    "belarus": "BY", "узбекистан": "UZ", "uzbekistan": "UZ", "кыргызстан": "KG",
    "киргизия": "KG", "kyrgyzstan": "KG", "армения": "AM", "armenia": "AM",
    "грузия": "GE", "georgia": "GE", "азербайджан": "AZ", "azerbaijan": "AZ",
    "москва": "RU-MOW", "moscow": "RU-MOW", "мск": "RU-MOW", "подмосковье": "RU-MOS",
    "московская": "RU-MOS", "moscow oblast": "RU-MOS", "moscow region": "RU-MOS",
    "санкт петербург": "RU-SPE", "петербург": "RU-SPE", "спб": "RU-SPE", "питер": "RU-SPE",
    "saint petersburg": "RU-SPE", "st petersburg": "RU-SPE", "ленинградская": "RU-LEN",
    "новосибирск": "RU-NVS", "екатеринбург": "RU-SVE", "казань": "RU-TA",
    "нижний новгород": "RU-NIZ", "челябинск": "RU-CHE", "самара": "RU-SAM",
    "тольятти": "RU-SAM", "омск": "RU-OMS", "ростов на дону": "RU-ROS", "ростов": "RU-ROS",
    "уфа": "RU-BA", "красноярск": "RU-KYA", "воронеж": "RU-VOR", "пермь": "RU-PER",
    "волгоград": "RU-VGG", "краснодар": "RU-KDA", "сочи": "RU-KDA", "саратов": "RU-SAR",
    "тюмень": "RU-TYU", "ижевск": "RU-UD", "барнаул": "RU-ALT", "ульяновск": "RU-ULY",
    "иркутск": "RU-IRK", "хабаровск": "RU-KHA", "ярославль": "RU-YAR",
    "владивосток": "RU-PRI", "махачкала": "RU-DA", "томск": "RU-TOM", "оренбург": "RU-ORE",
    "кемерово": "RU-KEM", "новокузнецк": "RU-KEM", "рязань": "RU-RYA",
    "астрахань": "RU-AST", "набережные челны": "RU-TA", "пенза": "RU-PNZ",
    "киров": "RU-KIR", "липецк": "RU-LIP", "чебоксары": "RU-CU", "калининград": "RU-KGD",
    "тула": "RU-TUL", "ставрополь": "RU-STA", "курск": "RU-KRS", "тверь": "RU-TVE",
    "брянск": "RU-BRY", "иваново": "RU-IVA", "белгород": "RU-BEL", "сургут": "RU-KHM",
    "владимир": "RU-VLA", "архангельск": "RU-ARK", "смоленск": "RU-SMO", "калуга": "RU-KLU",
    "чита": "RU-ZAB", "орел": "RU-ORL", "курган": "RU-KGN", "мурманск": "RU-MUR",
    "вологда": "RU-VLG", "череповец": "RU-VLG", "якутск": "RU-SA", "улан удэ": "RU-BU",
    "петрозаводск": "RU-KR", "сыктывкар": "RU-KO", "саранск": "RU-MO", "йошкар ола": "RU-ME",
    "грозный": "RU-CE", "нальчик": "RU-KB", "владикавказ": "RU-SE", "псков": "RU-PSK",
    "великий новгород": "RU-NGR", "тамбов": "RU-TAM", "кострома": "RU-KOS",
    "магадан": "RU-MAG", "петропавловск камчатский": "RU-KAM", "благовещенск": "RU-AMU",
    "южно сахалинск": "RU-SAK", "абакан": "RU-KK", "кызыл": "RU-TY", "элиста": "RU-KL",
    "майкоп": "RU-AD", "черкесск": "RU-KC", "назрань": "RU-IN", "горно алтайск": "RU-AL",
    "биробиджан": "RU-YEV", "анадырь": "RU-CHU", "салехард": "RU-YAN",
    "ханты мансийск": "RU-KHM", "нарьян мар": "RU-NEN", "орёл": "RU-ORL",
}  # fmt: skip

# Words that say what kind of place it is, not which one ("Новосибирская обл.").
_GENERIC = frozenset([
    "г", "город", "гор", "обл", "область", "край", "республика", "респ", "ао", "автономный",
    "округ", "city", "oblast", "region", "territory", "republic", "of", "krai",
])  # fmt: skip
_NON_WORD = re.compile(r"[^\w]+")
_REGION_CODE = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")

# Languages of Russia and its neighbours that Django's list has not.
EXTRA_LANGUAGES = frozenset(
    ["ba", "ce", "cv", "sah", "av", "bua", "xal", "kv", "mhr", "myv", "tyv", "zh"]
)


def _keys(text: str) -> list[str]:
    """The lookup keys of a place name: as written (normalized), then without the words
    that only say what kind of place it is ("Moscow oblast" before "Moscow")."""
    words = _NON_WORD.sub(" ", str(text).lower().replace("ё", "е")).split()
    keys = [" ".join(words), " ".join(w for w in words if w not in _GENERIC)]
    return [k for k in dict.fromkeys(keys) if k]


@cache
def _names() -> dict[str, str]:
    from phonenumbers import geocoder

    pairs = list(PLACE_NAMES.items())
    for abc, subject in RU_AREA_CODES.items():
        if subject in ("MOW", "MOS"):
            continue  # the library's names for Moscow's codes mix the city and the oblast
        number = phonenumbers.parse(f"+7{abc}2123456")
        for lang in ("ru", "en"):
            name = geocoder.description_for_number(number, lang)
            if name and name not in ("Россия", "Russia"):
                pairs.append((name, f"RU-{subject}"))
    names: dict[str, str] = {}
    for exact in (True, False):  # every name as written wins over a shortened one
        for name, code in pairs:
            keys = _keys(name)
            names.setdefault(keys[0] if exact else keys[-1], code)
    return names


def _lookup(text: str) -> str:
    names = _names()
    return next((names[k] for k in _keys(text) if k in names), "")


# --- regions -----------------------------------------------------------------------------


def normalize_region_code(value) -> str | None:
    """ "ru-mow " → "RU-MOW"; None when it is not a region code we know."""
    code = str(value or "").strip().upper().replace("_", "-")
    match = _REGION_CODE.match(code)
    if match is None:
        return None
    country, part = match.groups()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        return None
    if part and country == "RU" and part not in RU_SUBDIVISIONS:
        return None
    return code


def region_from_phone(phone: str) -> str:
    """The region of an E.164 number: "RU-MOW" for +7 495…, "RU" for a mobile, "" when
    the number is not one."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ""
    country = phonenumbers.region_code_for_number(number)
    if not country or country == "001":
        return ""
    if country == "RU":
        subject = RU_AREA_CODES.get(str(number.national_number)[:3])
        if subject:
            return f"RU-{subject}"
    return country


def region_from_text(text: str) -> str:
    """A "city/region" field → a region code; "" when it names no place we know.
    "Москва", "Новосибирская обл.", "RU-SPE", "Казань, Россия" all work."""
    text = str(text or "").strip()
    if not text:
        return ""
    # A code as such ("RU-SPE", "KZ"); a lower-case word is a name ("me" is not Montenegro).
    code = normalize_region_code(text) if text.isupper() or "-" in text else None
    if code:
        return code
    found = [_lookup(part) for part in re.split(r"[,;/]", text)]
    found = [f for f in found if f] or [_lookup(text)]
    found = [f for f in found if f]
    # The most precise wins: "Казань, Россия" is RU-TA, not RU.
    return max(found, key=len) if found else ""


def request_region(*, text: str = "", phone: str = "") -> str:
    """What the visitor said first, else what the phone number tells."""
    return region_from_text(text) or region_from_phone(phone)


def region_matches(wanted: list[str], region: str) -> bool:
    """A rule's regions (empty = any) against a request's region: "RU" takes "RU-MOW"."""
    if not wanted:
        return True
    if not region:
        return False
    country = region.split("-", 1)[0]
    return region in wanted or country in wanted


def regions_errors(values) -> tuple[list[str], list[str]]:
    """(cleaned codes, error messages) for a rule's regions (the admin form)."""
    if not isinstance(values, list):
        return [], [_('Enter a list of region codes, like ["RU-MOW", "RU-MOS", "KZ"].')]
    cleaned, errors = [], []
    for value in values:
        code = normalize_region_code(value) if isinstance(value, str) else None
        if code is None:
            errors.append(
                _("“%(v)s” is not a region code: use a country (RU) or a region (RU-MOW).")
                % {"v": value}
            )
        elif code not in cleaned:
            cleaned.append(code)
    return cleaned, errors


# --- languages ---------------------------------------------------------------------------


@cache
def known_languages() -> frozenset[str]:
    return frozenset(k.split("-")[0] for k in LANG_INFO) | EXTRA_LANGUAGES


def normalize_language(value) -> str:
    """ "ru-RU", "en_US", "RU" → "ru", "en", "ru"; "" when it is no language tag."""
    tag = str(value or "").strip().lower().replace("_", "-").split("-")[0]
    return tag if _LANGUAGE_CODE.match(tag) else ""


def language_from_header(header: str) -> str:
    """The visitor's preferred language from an Accept-Language header."""
    try:
        choices = parse_accept_lang_header(str(header or "")[:500].lower())
    except ValueError:
        return ""
    for tag, _quality in choices:
        language = normalize_language(tag) if tag != "*" else ""
        if language:
            return language
    return ""


def request_language(*, given: str = "", header: str = "") -> str:
    """A form field or navigator.language first, else the Accept-Language header."""
    return normalize_language(given) or language_from_header(header)


def language_matches(wanted: list[str], language: str) -> bool:
    return not wanted or language in wanted


def languages_errors(values) -> tuple[list[str], list[str]]:
    """(cleaned codes, error messages) for a rule's languages (the admin form)."""
    if not isinstance(values, list):
        return [], [_('Enter a list of language codes, like ["ru", "en"].')]
    cleaned, errors = [], []
    for value in values:
        code = value.strip().lower() if isinstance(value, str) else ""
        if not _LANGUAGE_CODE.match(code) or code not in known_languages():
            errors.append(
                _("“%(v)s” is not a language code: use two or three letters, like ru or en.")
                % {"v": value}
            )
        elif code not in cleaned:
            cleaned.append(code)
    return cleaned, errors
