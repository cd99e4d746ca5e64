"""Normalization for matching: pure Python, no Django.

Every function takes what people type (or None) and returns a comparable form, or None when
there is nothing to compare. Names become a Latin "skeleton" so that "Юрий", "Yuri",
"Iurii" and "Jurij" meet; phones become E.164 digits; emails lower case; dates YYYYMMDD.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

# Russian (and Ukrainian/Belarusian) letters to Latin, close to the passport (ICAO) rules.
_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "і": "i", "ї": "i", "є": "e", "ґ": "g", "ў": "u",
}  # fmt: skip
_TRANSLIT = str.maketrans(_CYR)
# Spelling variants of the same sound in Latin transliterations, most specific first.
_SKELETON_RULES = [
    (re.compile(r"shch|sch"), "sh"),
    (re.compile(r"tch"), "ch"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"w"), "v"),
    (re.compile(r"[yj]"), "i"),
    (re.compile(r"tz|ts"), "c"),
    (re.compile(r"(.)\1+"), r"\1"),  # doubled letters: Anna/Ana, Filippov/Filipov
]
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def clean(text) -> str | None:
    """Casefolded text with single spaces, or None when empty."""
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    text = _SPACES.sub(" ", text).strip().casefold()
    if not text or text in {"nan", "none", "null"}:
        return None
    return text


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def translit(text: str) -> str:
    """Casefolded Latin form of `text` (Cyrillic transliterated, accents dropped)."""
    out = text.casefold().translate(_TRANSLIT)
    if not out.isascii():
        out = _strip_accents(out)
    return out


@lru_cache(maxsize=200_000)
def skeleton(text: str) -> str:
    """Latin letters and digits only, with transliteration variants folded together."""
    out = translit(text)
    for pattern, repl in _SKELETON_RULES:
        out = pattern.sub(repl, out)
    return _NON_ALNUM.sub("", out)


def name(text) -> str | None:
    """A name part for comparison: its skeleton ("Щукина" → "shukina"), or None."""
    text = clean(text)
    if text is None:
        return None
    return skeleton(text) or None


def text_value(text) -> str | None:
    """Free text (street, city, company): transliterated, punctuation to single spaces."""
    text = clean(text)
    if text is None:
        return None
    out = _SPACES.sub(" ", _NON_ALNUM.sub(" ", translit(text))).strip()
    return out or None


_SOUNDEX = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz",
    "01230120022455012623010202",
)


@lru_cache(maxsize=200_000)
def soundex(sk: str) -> str:
    """American Soundex of a skeleton ("robert" → "r163"); "" for an empty one."""
    letters = "".join(c for c in sk if "a" <= c <= "z")
    if not letters:
        return ""
    codes = letters.translate(_SOUNDEX)
    out = [letters[0]]
    last = codes[0]
    for ch, code in zip(letters[1:], codes[1:], strict=True):
        if code != "0" and code != last:
            out.append(code)
            if len(out) == 4:
                break
        if ch not in "hw":  # h and w do not separate equal codes
            last = code
    return "".join(out).ljust(4, "0")


def phone(raw, default_cc: str = "7") -> str | None:
    """E.164 digits of a phone as typed: "8 (916) 123-45-67" → "79161234567".

    A light, fast rule set (this runs over millions of rows): an 11-digit number starting
    with 8 is Russian trunk dialing when the default country code is 7; a 10-digit number
    gets the default country code. Fewer than 7 digits is not a phone."""
    if raw is None:
        return None
    digits = _NON_DIGITS.sub("", str(raw))
    if len(digits) < 7:
        return None
    if default_cc == "7" and len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    if len(digits) == 10 and default_cc and not str(raw).strip().startswith("+"):
        return default_cc + digits
    return digits


def email(raw) -> str | None:
    text = clean(raw)
    if text is None or "@" not in text:
        return None
    return text.replace(" ", "")


def date(raw) -> str | None:
    """YYYYMMDD from a date, "YYYY-MM-DD", "DD.MM.YYYY" or 8 digits (kept even if the
    digits are not a real date: a typo in a date of birth is still evidence)."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        return raw.strftime("%Y%m%d")
    text = str(raw).strip()
    if not text or text.casefold() in {"nan", "none", "null"}:
        return None
    parts = re.split(r"[.\-/ ]", text)
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        if len(parts[0]) == 4:
            y, m, d = parts
        elif len(parts[2]) == 4:
            d, m, y = parts
        else:
            return None
        return f"{y}{int(m):02d}{int(d):02d}"
    digits = _NON_DIGITS.sub("", text)
    return digits if len(digits) == 8 else None


def code(raw) -> str | None:
    """An identifier (postcode, tax id, social security number): letters and digits."""
    text = clean(raw)
    if text is None:
        return None
    return _NON_ALNUM.sub("", translit(text)) or None


_LEGAL_FORMS = re.compile(
    r"\b(ooo|zao|oao|pao|ao|nao|ip|gup|mup|fgup|ano|nko|tsk|gk|llc|ltd|inc|corp|co|"
    r"gmbh|ag|sa|srl|plc|limited|company|kompaniia|gruppa|group)\b"
)


def company_name(raw) -> str | None:
    """A company name without its legal form and quotes: «ООО "Ромашка"» → "romashka"."""
    text = text_value(raw)
    if text is None:
        return None
    out = _SPACES.sub(" ", _LEGAL_FORMS.sub(" ", text)).strip()
    return out or text


def domain(raw) -> str | None:
    """The host of a website or of an email, without "www.": for companies."""
    text = clean(raw)
    if not text:
        return None
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.")
    return text or None
