"""The matching engine: records in, scored pairs out. Pure Python (rapidfuzz), no Django.

    engine = Engine(fields=[Field("last_name", "name", 3.0), ...],
                    rules=[Rule("phone", key("phones")), ...], threshold=0.8)
    for match in engine.find(records):       # records: mappings with an "id"
        match.a, match.b, match.score

1. **Normalize** each record once into a tuple (one slot per field; None when empty).
2. **Block**: every rule gives each record zero or more keys; records sharing a key are
   candidates. A block larger than `max_block` is not compared all-pairs (a common name in
   a million contacts would be O(n²) again) but by a *sorted neighbourhood*: its records
   sorted by `sort_fields` and each compared with the next `window` ones. A pair already
   produced by an earlier rule (they share a key of a small block there) is skipped, so
   no set of all candidate pairs is ever held in memory.
3. **Score** each candidate: per-field similarities s (compare.py) combined over the fields
   both records have as Σ w·s / Σ (w·s + d·(1−s)), w the field's agreement weight and d its
   disagreement weight — a Fellegi–Sunter-like sum normalized to [0, 1]; identical records
   score 1. Fields only one side has don't count. If the weight
   of the fields both have is below `min_evidence`, the score shrinks in proportion, so two
   records that share only a common name never look certain. Name pairs listed in `swaps`
   are also compared crosswise (first and last name entered the wrong way round).
4. Pairs scoring at least `threshold` are yielded; `explain()` gives the per-field
   similarities of a pair (the "reasons" of the review queue).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from svyaz.dataquality.dedup import compare
from svyaz.dataquality.dedup import normalize as norm

NORMALIZERS: dict[str, Callable] = {
    "name": norm.name,
    "text": norm.text_value,
    "company": norm.company_name,
    "phone": norm.phone,
    "email": norm.email,
    "date": norm.date,
    "code": norm.code,
    "exact": norm.clean,
    "domain": norm.domain,
}


@dataclass(frozen=True)
class Field:
    """One compared attribute.

    `weight`: how much agreement on it counts; `disagree`: how much disagreement counts
    against (default: the same). People have several phones and e-mails and change them,
    so a different phone is weaker evidence against than the same phone is for.
    `many`: the record holds a list (phones, emails)."""

    name: str
    kind: str
    weight: float
    many: bool = False
    disagree: float | None = None

    def __post_init__(self):
        if self.kind not in NORMALIZERS:
            raise ValueError(f"unknown field kind {self.kind!r}")
        if self.weight <= 0 or (self.disagree is not None and self.disagree < 0):
            raise ValueError("a field's weights must be positive")


KeyFn = Callable[[Mapping[str, object]], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    """A blocking rule: `keys` gives the keys of one normalized record — a `key(...)`
    (fast: bound to the row layout) or any callable of a {field: value} mapping."""

    name: str
    keys: Key | KeyFn


@dataclass(frozen=True, slots=True)
class Match:
    """A pair of record ids (in input order) and its score; i and j index the input."""

    a: object
    b: object
    score: float
    i: int = -1
    j: int = -1


def _part_fn(how: str) -> Callable[[str], str | None]:
    if how == "exact":
        return lambda v: v
    if how == "soundex":
        return lambda v: norm.soundex(v) or None
    if how == "initial":
        return lambda v: v[:1] or None
    if how == "year":
        return lambda v: v[:4] or None
    if how == "local":  # an e-mail's mailbox name, when it is not a generic short one
        return lambda v: (lambda box: box if len(box) >= 5 else None)(v.partition("@")[0])
    if how.startswith("prefix") and how[6:].isdigit():
        n = int(how[6:])
        return lambda v: v[:n] or None
    raise ValueError(f"unknown key part {how!r}")


_NO_KEYS: tuple[str, ...] = ()


class Key:
    """A blocking key made of field parts; see `key()`."""

    def __init__(self, parts: Sequence[str], unordered: bool):
        self.spec = [(p.partition(":")[0], _part_fn(p.partition(":")[2] or "exact")) for p in parts]
        self.unordered = unordered

    def bind(self, index: Mapping[str, int]) -> Callable[[tuple], tuple[str, ...]]:
        """A fast function of a normalized row (a tuple in the engine's field order)."""
        spec = [(index[name], fn) for name, fn in self.spec]
        unordered = self.unordered
        if len(spec) == 1:
            ((i, fn),) = spec

            def one(row: tuple) -> tuple[str, ...]:
                value = row[i]
                if value is None:
                    return _NO_KEYS
                if type(value) is tuple:
                    return tuple(dict.fromkeys(k for k in map(fn, value) if k))
                k = fn(value)
                return (k,) if k else _NO_KEYS

            return one

        def many(row: tuple) -> tuple[str, ...]:
            variants: list[tuple[str, ...]] = [()]
            for i, fn in spec:
                value = row[i]
                if value is None:
                    return _NO_KEYS
                got = [k for k in map(fn, value if type(value) is tuple else (value,)) if k]
                if not got:
                    return _NO_KEYS
                variants = [v + (g,) for v in variants for g in got]
            if unordered:
                variants = [tuple(sorted(v)) for v in variants]
            return tuple(dict.fromkeys("\x1f".join(v) for v in variants))

        return many

    def __call__(self, values: Mapping[str, object]) -> tuple[str, ...]:
        names = [name for name, _fn in self.spec]
        row = tuple(values.get(n) for n in names)
        return self.bind({n: i for i, n in enumerate(names)})(row)


def key(*parts: str, unordered: bool = False) -> Key:
    """A key made of field parts, e.g. key("last_name:soundex", "first_name:initial").

    Part forms: exact (default), soundex, initial, year, local (an e-mail's mailbox name),
    prefixN. A many-valued field gives
    one key per value. `unordered`: the parts are sorted, so swapped fields meet."""
    return Key(parts, unordered)


@dataclass
class Engine:
    fields: Sequence[Field]
    rules: Sequence[Rule]
    threshold: float = 0.8
    swaps: Sequence[tuple[str, str]] = ()
    sort_fields: Sequence[str] = ()
    max_block: int = 60
    window: int = 12
    min_evidence: float = 0.0
    default_cc: str = "7"
    stats: dict = field(default_factory=dict, init=False)

    def __post_init__(self):
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        self._index = {n: i for i, n in enumerate(names)}
        self._swaps = [(self._index[a], self._index[b]) for a, b in self.swaps]
        swapped = {i for pair in self._swaps for i in pair}
        self._plain: list[int] = []
        for i in range(len(self.fields)):
            if i not in swapped:
                self._plain.append(i)
        self._cmp = [
            compare.best_of(compare.COMPARATORS[f.kind]) if f.many else compare.COMPARATORS[f.kind]
            for f in self.fields
        ]
        self._sort_idx = [self._index[n] for n in self.sort_fields]
        self._weights = [
            (f.weight, f.weight if f.disagree is None else f.disagree) for f in self.fields
        ]

    # --- normalization ----------------------------------------------------------------
    def normalize(self, record: Mapping[str, object]) -> tuple:
        out = []
        cc = self.default_cc
        for f in self.fields:
            fn = NORMALIZERS[f.kind]
            raw = record.get(f.name)
            if f.many:
                if raw is None or isinstance(raw, str):
                    raw = () if raw is None else (raw,)
                vals = []
                for r in raw:
                    v = fn(r, cc) if f.kind == "phone" else fn(r)
                    if v is not None and v not in vals:
                        vals.append(v)
                out.append(tuple(vals) or None)
            else:
                out.append(fn(raw, cc) if f.kind == "phone" else fn(raw))
        return tuple(out)

    # --- scoring ------------------------------------------------------------------------
    def _similarities(self, a: tuple, b: tuple) -> list[float | None]:
        sims: list[float | None] = [None] * len(self.fields)
        cmp = self._cmp
        for i in self._plain:
            va, vb = a[i], b[i]
            if va is not None and vb is not None:
                sims[i] = cmp[i](va, vb)
        for i, j in self._swaps:
            ai, aj, bi, bj = a[i], a[j], b[i], b[j]
            si = cmp[i](ai, bi) if ai is not None and bi is not None else None
            sj = cmp[j](aj, bj) if aj is not None and bj is not None else None
            straight = (si or 0.0) + (sj or 0.0)
            if straight < 1.9:
                # Crosswise (first and last name swapped). Both slots get the mean of the
                # crossed similarities, so that score(a, b) == score(b, a).
                crossed = [
                    cmp[i](x, y) for x, y in ((ai, bj), (aj, bi)) if x is not None and y is not None
                ]
                if crossed and sum(crossed) > straight + 0.2:
                    si = sj = sum(crossed) / len(crossed)
            sims[i], sims[j] = si, sj
        return sims

    def _combine(self, sims: Sequence[float | None]) -> float:
        num = den = evidence = 0.0
        for (w, d), s in zip(self._weights, sims, strict=True):
            if s is not None:
                num += w * s
                den += w * s + d * (1.0 - s)
                evidence += w
        if den <= 0:
            return 0.0
        score = num / den
        if evidence < self.min_evidence:
            score *= evidence / self.min_evidence
        return min(1.0, max(0.0, score))

    def score_normalized(self, a: tuple, b: tuple) -> float:
        return self._combine(self._similarities(a, b))

    def score(self, a: Mapping[str, object], b: Mapping[str, object]) -> float:
        """The score of two raw records, in [0, 1]."""
        return self.score_normalized(self.normalize(a), self.normalize(b))

    def explain(self, a: Mapping[str, object], b: Mapping[str, object]) -> dict[str, float]:
        """Per-field similarities of two raw records (fields either side lacks are left out)."""
        return self.explain_normalized(self.normalize(a), self.normalize(b))

    def explain_normalized(self, a: tuple, b: tuple) -> dict[str, float]:
        sims = self._similarities(a, b)
        return {
            f.name: round(s, 3) for f, s in zip(self.fields, sims, strict=True) if s is not None
        }

    # --- blocking and matching ----------------------------------------------------------
    def find(self, records: Iterable[Mapping[str, object]], *, workers: int = 1) -> Iterator[Match]:
        """Every pair of `records` scoring at least `threshold` (each pair once)."""
        ids: list[object] = []
        rows: list[tuple] = []
        for record in records:
            ids.append(record["id"])
            rows.append(self.normalize(record))
        yield from self.find_normalized(ids, rows, workers=workers)

    def _keys_of(self, rows: Sequence[tuple]) -> list[list[tuple[str, ...]]]:
        names = [f.name for f in self.fields]
        per_rule: list[list[tuple[str, ...]]] = []
        for rule in self.rules:
            if isinstance(rule.keys, Key):
                per_rule.append(list(map(rule.keys.bind(self._index), rows)))
            else:  # any callable of a {field: normalized value} mapping
                fn = rule.keys
                per_rule.append(
                    [tuple(dict.fromkeys(fn(dict(zip(names, row, strict=True))))) for row in rows]
                )
        return per_rule

    def _blocks(self, keys: list[list[tuple[str, ...]]]):
        """Per rule: the blocks of two records or more, and the keys of the small ones."""
        out = []
        for per_record in keys:
            index: dict[str, list[int]] = defaultdict(list)
            for i, ks in enumerate(per_record):
                for k in ks:
                    index[k].append(i)
            blocks = [(k, m) for k, m in index.items() if len(m) > 1]
            del index
            small = {k for k, m in blocks if len(m) <= self.max_block}
            out.append((blocks, small))
        return out

    def _scan(self, rows, keys, blocks, worker: int = 0, workers: int = 1):
        """Score the candidate pairs of every `workers`-th block: ([(i, j, score)], compared)."""
        threshold = self.threshold
        score = self.score_normalized
        sort_idx = self._sort_idx
        max_block, window = self.max_block, self.window
        hits: list[tuple[int, int, float]] = []
        compared = 0
        counter = -1
        for r, (rule_blocks, small_keys) in enumerate(blocks):
            rkeys = keys[r]
            earlier = [(keys[e], blocks[e][1]) for e in range(r)]
            for k, members in rule_blocks:
                counter += 1
                if counter % workers != worker:
                    continue
                n = len(members)
                if n <= max_block:
                    pairs = ((members[x], members[y]) for x in range(n) for y in range(x + 1, n))
                else:
                    if sort_idx:
                        members = sorted(
                            members, key=lambda i: tuple(str(rows[i][s] or "") for s in sort_idx)
                        )
                    pairs = (
                        (members[x], members[y])
                        for x in range(n)
                        for y in range(x + 1, min(n, x + 1 + window))
                    )
                for i, j in pairs:
                    ki, kj = rkeys[i], rkeys[j]
                    # The same pair under another key of this rule: count it at its first key.
                    if len(ki) > 1 and len(kj) > 1:
                        first = next((x for x in ki if x in kj and x in small_keys), None)
                        if first is not None and first != k:
                            continue
                    # Produced by an earlier rule (a shared key of a small block there).
                    seen = False
                    for ekeys, esmall in earlier:
                        eki = ekeys[i]
                        if eki:
                            ekj = ekeys[j]
                            for x in eki:
                                if x in ekj and x in esmall:
                                    seen = True
                                    break
                            if seen:
                                break
                    if seen:
                        continue
                    compared += 1
                    s = score(rows[i], rows[j])
                    if s >= threshold:
                        hits.append((i, j, s) if i < j else (j, i, s))
        return hits, compared

    def find_normalized(
        self, ids: Sequence[object], rows: Sequence[tuple], *, workers: int = 1
    ) -> Iterator[Match]:
        """Like find(), on rows already normalized. `workers` > 1 scores the blocks in that
        many forked processes (POSIX; falls back to one process where forking is refused,
        e.g. inside a daemonic worker)."""
        keys = self._keys_of(rows)
        blocks = self._blocks(keys)
        results = None
        if workers > 1:
            results = _parallel(self, rows, keys, blocks, workers)
        if results is None:
            results = [self._scan(rows, keys, blocks)]
        found: set[tuple[int, int]] = set()  # a pair meeting only in oversized blocks twice
        compared = 0
        for hits, n in results:
            compared += n
            for i, j, s in hits:
                if (i, j) not in found:
                    found.add((i, j))
                    yield Match(ids[i], ids[j], s, i, j)
        self.stats = {"records": len(rows), "compared": compared, "found": len(found)}


_FORKED: tuple | None = None


def _forked_scan(worker: int):
    engine, rows, keys, blocks, workers = _FORKED
    return engine._scan(rows, keys, blocks, worker, workers)


def _parallel(engine: Engine, rows, keys, blocks, workers: int):
    """Run `_scan` in `workers` forked processes; None when forking is not possible."""
    global _FORKED
    import multiprocessing

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        return None
    _FORKED = (engine, rows, keys, blocks, workers)
    try:
        with ctx.Pool(workers) as pool:
            return pool.map(_forked_scan, range(workers))
    except (AssertionError, OSError):  # daemonic process, no fork
        return None
    finally:
        _FORKED = None
