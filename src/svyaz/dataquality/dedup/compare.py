"""Field comparators: two normalized values in, a similarity in [0, 1] out.

Similarities are graded like the agreement levels of a Fellegi–Sunter model: 1 for exact
agreement, a middle value for the typical typo (one edit, a transposition, day and month
swapped), 0 for disagreement. Fuzzy string scores are rescaled so that two unrelated
strings (which rapidfuzz still finds 40–60 % similar) count as 0, not as half a match.
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from svyaz.dataquality.dedup.normalize import soundex

_jw = JaroWinkler.normalized_similarity
_dl = DamerauLevenshtein.distance
_lev = Levenshtein.distance


def _rescale(s: float, floor: float) -> float:
    return 0.0 if s <= floor else (s - floor) / (1.0 - floor)


def name(a: str, b: str) -> float:
    """Name parts (skeletons). An initial matches a name starting with it at 0.8."""
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return 0.8 if a[0] == b[0] else 0.0
    s = _rescale(_jw(a, b), 0.7)
    if s < 0.6 and soundex(a) == soundex(b):
        s = 0.6
    # One of them is the other with a part missing ("anna maria" / "anna", double surnames).
    if s < 0.7 and (a.startswith(b) or b.startswith(a)) and min(len(a), len(b)) >= 3:
        s = 0.7
    return s


def text(a: str, b: str) -> float:
    """Free text: the best of plain, space-insensitive and word-order-insensitive ratios."""
    if a == b:
        return 1.0
    s = fuzz.ratio(a, b)
    if " " in a or " " in b:
        s = max(s, fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")), fuzz.token_sort_ratio(a, b))
    return _rescale(s / 100.0, 0.5)


def company(a: str, b: str) -> float:
    """Company names: words in any order, one name contained in the other counts."""
    if a == b:
        return 1.0
    s = max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))
    if min(len(a), len(b)) >= 4:
        s = max(s, 0.9 * fuzz.token_set_ratio(a, b))
    return _rescale(s / 100.0, 0.6)


def phone(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) >= 10 and len(b) >= 10 and a[-10:] == b[-10:]:
        return 0.9  # the same national number, another country code
    return 0.4 if len(a) == len(b) and _dl(a, b) == 1 else 0.0


def email(a: str, b: str) -> float:
    if a == b:
        return 1.0
    la, _, da = a.partition("@")
    lb, _, db = b.partition("@")
    if la == lb and len(la) >= 4:
        return 0.7  # same mailbox name at another provider
    if da == db and _dl(la, lb) == 1 and len(la) >= 5:
        return 0.5  # a typo in the mailbox name, or ivan1@ and ivan2@
    return 0.0


def date(a: str, b: str) -> float:
    """YYYYMMDD strings: a typo of one digit or day and month swapped still count."""
    if a == b:
        return 1.0
    if len(a) == 8 and len(b) == 8:
        if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
            return 0.8
        dist = _dl(a, b)
        if dist == 1:
            return 0.7
        if dist == 2:
            return 0.3
    return 0.0


def code(a: str, b: str) -> float:
    """Identifiers: one typo (or a transposition) is 0.6, two 0.2."""
    if a == b:
        return 1.0
    dist = _dl(a, b)
    if dist == 1 and min(len(a), len(b)) >= 4:
        return 0.6
    if dist == 2 and min(len(a), len(b)) >= 6:
        return 0.2
    return 0.0


def exact(a: str, b: str) -> float:
    return 1.0 if a == b else 0.0


COMPARATORS: dict[str, Callable[[str, str], float]] = {
    "name": name,
    "text": text,
    "company": company,
    "phone": phone,
    "email": email,
    "date": date,
    "code": code,
    "exact": exact,
    "domain": exact,
}


def best_of(fn: Callable[[str, str], float]) -> Callable[[tuple, tuple], float]:
    """A comparator of value lists (phones, emails): the best pair wins."""

    def compare(a: tuple, b: tuple) -> float:
        if len(a) == 1 and len(b) == 1:
            return fn(a[0], b[0])
        if set(a) & set(b):
            return 1.0
        best = 0.0
        for x in a:
            for y in b:
                s = fn(x, y)
                if s > best:
                    best = s
        return best

    return compare
