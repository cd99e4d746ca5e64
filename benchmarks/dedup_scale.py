"""Duplicate finding at scale (issue #5): N generated contacts with injected duplicates,
scanned by Svyaz's engine. Target: 1,000,000 contacts in under 10 minutes on 2 cores.

    .venv/bin/python benchmarks/dedup_scale.py --n 100000
    .venv/bin/python benchmarks/dedup_scale.py --n 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/svyaz_dedup \\
        .venv/bin/python benchmarks/dedup_scale.py --n 100000 --db     # through the scan job

Records are generated on the fly from `--seed` (record i from its own random stream, so a
duplicate of record j regenerates j instead of keeping every record in memory): Russian
names (some in Latin), one or two phones in mixed formats, e-mails, birthdays, cities.
`--dup-rate` of them (default 5 %) are duplicates of an earlier record, changed the way
people change them: a typo in the last name, the name transliterated, first and last name
swapped, the phone typed another way or missing, the e-mail in capitals or missing, a
middle name dropped, a new phone number. Those injected pairs are the truth for precision and recall (a pair
the engine finds between two *generated* records that happen to be alike counts as a
false positive, so precision is a lower bound).

Printed, one line per figure: the time of the engine (normalization + blocking + scoring;
generation excluded but streamed through it), its CPU time, peak RSS of the process,
pairs compared and found, precision and recall. With `--db` the same contacts are first
written to the database with COPY (PostgreSQL), then a fresh process times
`duplicates_scan(entity="contact")` — the job itself, streaming with values_list()
.iterator() — twice: the first scan, and the second (idempotent: nothing created) run, and
its own peak RSS. `SVYAZ_DEDUP_WORKERS=2` lets the job score in two processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара",
          "Нижний Новгород", "Краснодар", "Воронеж", "Пермь", "Уфа", "Тюмень"]  # fmt: skip
MAIL = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru"]


def latin(text: str) -> str:
    out = "".join(LATIN.get(c, c) for c in text.lower())
    return out[:1].upper() + out[1:]


class Names:
    """Pools of Russian names drawn once from Faker (deterministic for a seed)."""

    def __init__(self, seed: int):
        from faker import Faker

        fake = Faker("ru_RU")
        fake.seed_instance(seed)
        self.male = (
            sorted({fake.first_name_male() for _ in range(3000)}),
            sorted({fake.middle_name_male() for _ in range(3000)}),
            sorted({fake.last_name_male() for _ in range(20000)}),
        )
        self.female = (
            sorted({fake.first_name_female() for _ in range(3000)}),
            sorted({fake.middle_name_female() for _ in range(3000)}),
            sorted({fake.last_name_female() for _ in range(20000)}),
        )


def phone_as_typed(rng: random.Random, national: str) -> str:
    n = national
    return rng.choice(
        [
            f"+7{n}",
            f"8{n}",
            f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
            f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
            f"8({n[:3]}){n[3:]}",
            f"{n[:3]}-{n[3:6]}-{n[6:]}",
        ]
    )


def base_record(seed: int, i: int, names: Names) -> dict:
    rng = random.Random(seed * 1_000_003 + i)
    first, middle, last = names.male if rng.random() < 0.5 else names.female
    f, m, la = rng.choice(first), rng.choice(middle), rng.choice(last)
    nationals = [f"9{rng.randrange(10**9):09d}" for _ in range(1 if rng.random() < 0.7 else 2)]
    box = f"{latin(f)[0].lower()}.{latin(la).lower()}{rng.randrange(10000)}"
    return {
        "id": i,
        "first_name": f,
        "middle_name": m if rng.random() < 0.7 else "",
        "last_name": la,
        "birthday": (
            f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < 0.3
            else None
        ),
        "phones": [phone_as_typed(rng, n) for n in nationals],
        "emails": [f"{box}@{rng.choice(MAIL)}"] if rng.random() < 0.6 else [],
        "company": None,
        "city": rng.choice(CITIES),
        "postal_code": None,
        "street": None,
        "_nationals": nationals,
    }


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    k = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:  # transposition
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    if op == 1:  # deletion
        return word[:k] + word[k + 1 :]
    return word[:k] + rng.choice("аеиоуыс") + word[k + 1 :]  # substitution


def duplicate_of(rng: random.Random, rec: dict, i: int) -> dict:
    d = dict(rec, id=i)
    changes = rng.sample(
        ["typo", "latin", "swap", "phone", "email", "middle", "drop", "newphone"], k=2
    )
    for c in changes:
        if c == "typo":
            d["last_name"] = typo(rng, d["last_name"])
        elif c == "latin":
            d["first_name"], d["last_name"] = latin(d["first_name"]), latin(d["last_name"])
            d["middle_name"] = latin(d["middle_name"]) if d["middle_name"] else ""
        elif c == "swap":
            d["first_name"], d["last_name"] = d["last_name"], d["first_name"]
        elif c == "phone":
            d["phones"] = [phone_as_typed(rng, n) for n in rec["_nationals"]]
        elif c == "email":
            d["emails"] = [e.upper() for e in rec["emails"]]
        elif c == "middle":
            d["middle_name"] = ""
        elif c == "newphone":  # the person changed numbers
            d["phones"] = [phone_as_typed(rng, f"9{rng.randrange(10**9):09d}")]
        elif c == "drop":
            # One of the two identifiers is missing in the copy (never both).
            if rec["emails"] and rng.random() < 0.5:
                d["emails"] = []
            elif rec["emails"]:
                d["phones"] = []
    return d


def generate(n: int, seed: int, dup_rate: float, truth: set, names: Names):
    """Yield the records; fill `truth` with every pair of the same person (a record and
    each of its copies, and the copies among themselves)."""
    rng = random.Random(seed)
    families: dict[int, list[int]] = {}
    is_copy: set[int] = set()
    for i in range(1, n + 1):
        if i > 100 and rng.random() < dup_rate:
            j = rng.randrange(1, i)
            while j in is_copy:  # copy an original, never a copy
                j = rng.randrange(1, i)
            rec = duplicate_of(rng, base_record(seed, j, names), i)
            family = families.setdefault(j, [j])
            truth.update((k, i) for k in family)
            family.append(i)
            is_copy.add(i)
        else:
            rec = base_record(seed, i, names)
        rec.pop("_nationals", None)
        yield rec


def rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_engine(args, names: Names):
    from svyaz.dataquality.dedup import normalize
    from svyaz.dataquality.dedup.presets import contact_engine

    for cached in (normalize.translit, normalize.skeleton, normalize.soundex):
        cached.cache_clear()  # every repeat starts cold
    truth: set[tuple[int, int]] = set()
    engine = contact_engine(threshold=args.threshold)
    started, cpu = time.perf_counter(), time.process_time()
    ids, rows = [], []
    for record in generate(args.n, args.seed, args.dup_rate, truth, names):
        ids.append(record["id"])
        rows.append(engine.normalize(record))
    loaded = time.perf_counter()
    found = {(m.a, m.b) for m in engine.find_normalized(ids, rows, workers=args.workers)}
    stats = {**engine.stats, "load_seconds": round(loaded - started, 1)}
    return found, truth, time.perf_counter() - started, time.process_time() - cpu, stats


def write_db(args, names: Names) -> set:
    """Contacts, phones and e-mails of the generated base, written with COPY."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from svyaz.contacts.models import Contact, Email, Phone
    from svyaz.dataquality.dedup import normalize

    if connection.vendor != "postgresql":
        raise SystemExit("--db needs PostgreSQL (DATABASE_URL=postgres://…)")
    if Contact.all_objects.exists():
        raise SystemExit("--db needs an empty, migrated database of its own")
    from svyaz.accounts.models import User

    owner = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "dedup-bench", "dedup@example.com", "dedup-bench-password"
    )
    now = timezone.now()
    truth: set = set()
    contacts, phones, emails = [], [], []
    for rec in generate(args.n, args.seed, args.dup_rate, truth, names):
        full = " ".join(p for p in (rec["last_name"], rec["first_name"], rec["middle_name"]) if p)
        contacts.append(
            (rec["id"], owner.pk, owner.department_id, now, now, "{}", rec["first_name"],
             rec["middle_name"], rec["last_name"], full, "", rec["birthday"], "", "")
        )  # fmt: skip
        for p in rec["phones"]:
            digits = normalize.phone(p)
            phones.append((rec["id"], "+" + digits, digits, "mobile", False))
        for e in rec["emails"]:
            emails.append((rec["id"], e.lower(), "work", False))
    with connection.cursor() as cur:
        for model, cols, rows in (
            (Contact, ["id", "owner_id", "department_id", "created_at", "updated_at", "custom",
                       "first_name", "middle_name", "last_name", "full_name", "job_title",
                       "birthday", "source", "description"], contacts),
            (Phone, ["contact_id", "number", "digits", "kind", "is_primary"], phones),
            (Email, ["contact_id", "email", "kind", "is_primary"], emails),
        ):  # fmt: skip
            with cur.cursor.copy(
                f"COPY {model._meta.db_table} ({', '.join(cols)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('contacts_contact', 'id'), %s)", [args.n])
        cur.execute("ANALYZE")
    return truth


def run_db(args, names: Names):
    """Write the base, then scan it in a fresh process (its peak RSS is the scan's own)."""
    import subprocess

    write_db(args, names)
    from django.db import connection

    connection.close()
    cmd = [sys.executable, __file__, "--db-scan", "--n", str(args.n), "--seed", str(args.seed),
           "--dup-rate", str(args.dup_rate), "--threshold", str(args.threshold)]  # fmt: skip
    subprocess.run(cmd, check=True)  # noqa: S603 - this script, fixed arguments


def db_scan(args) -> None:
    """The scan job on the database as it is; then the truth, regenerated, for quality."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
    django.setup()
    from svyaz.dataquality.dedup import services
    from svyaz.dataquality.models import DedupSettings, DuplicatePair

    DedupSettings.objects.update_or_create(pk=1, defaults={"review_threshold": args.threshold})
    label = f"dedup_scale_db_{args.n}"
    for run in ("first", "again"):
        started, cpu = time.perf_counter(), time.process_time()
        report = services.duplicates_scan(entity="contact")["contact"]
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{label}_scan_{run}_seconds value={seconds:.1f} target=600 "
              f"verdict={'ok' if seconds < 600 else 'MISS'} cpu_main={cpu:.1f}s "
              f"cpu_workers={cpu_children():.1f}s " + " ".join(f"{k}={v}" for k, v in report.items()),
              flush=True)  # fmt: skip
    print(f"{label}_peak_rss value={rss_mb():.0f}MB worker_max={rss_mb(resource.RUSAGE_CHILDREN):.0f}MB",
          flush=True)  # fmt: skip
    found = set(DuplicatePair.objects.filter(entity="contact").values_list("a_id", "b_id"))
    truth: set = set()
    for _ in generate(args.n, args.seed, args.dup_rate, truth, Names(args.seed)):
        pass
    tp = len(found & truth)
    print(f"{label}_quality precision={tp / max(1, len(found)):.4f} "
          f"recall={tp / max(1, len(truth)):.4f} found={len(found)} injected={len(truth)}",
          flush=True)  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dup-rate", type=float, default=0.05)
    parser.add_argument("--threshold", type=float, default=0.7, help="the review threshold")
    parser.add_argument("--repeats", type=int, default=1, help="engine runs (median)")
    parser.add_argument("--workers", type=int, default=2, help="processes scoring the blocks")
    parser.add_argument("--db", action="store_true", help="through the scan job (PostgreSQL)")
    parser.add_argument("--db-scan", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.db_scan:
        db_scan(args)
        return

    print(
        f"# svyaz dedup at scale {time.strftime('%Y-%m-%d %H:%M')} n={args.n} seed={args.seed} "
        f"dup_rate={args.dup_rate} python={platform.python_version()} cpus={os.cpu_count()}",
        flush=True,
    )
    names = Names(args.seed)
    if args.db:
        run_db(args, names)
        return
    started = time.perf_counter()
    for _ in generate(args.n, args.seed, args.dup_rate, set(), names):
        pass
    gen_seconds = time.perf_counter() - started
    label = f"dedup_scale_engine_{args.n}"
    runs = [run_engine(args, names) for _ in range(args.repeats)]
    found, truth, _s, _c, stats = runs[-1]
    seconds = statistics.median(r[2] for r in runs)
    cpu = statistics.median(r[3] for r in runs)
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    print(f"{label}_seconds value={seconds:.1f} target=600 "
          f"verdict={'ok' if seconds < 600 else 'MISS'} n={len(runs)}", flush=True)  # fmt: skip
    print(f"{label}_generation_seconds value={gen_seconds:.1f} (inside the figure above: "
          f"the records are generated while they stream in)", flush=True)  # fmt: skip
    print(f"{label}_cpu main={cpu:.1f}s workers={cpu_children():.1f}s", flush=True)
    print(f"{label}_peak_rss value={rss_mb():.0f}MB worker_max={rss_mb(resource.RUSAGE_CHILDREN):.0f}MB",
          flush=True)  # fmt: skip
    print(f"{label}_rate value={args.n / seconds:,.0f} records/s", flush=True)
    extra = " ".join(f"{k}={v}" for k, v in stats.items() if k != "records")
    print(f"{label}_pairs found={len(found)} injected={len(truth)} {extra}", flush=True)
    print(f"{label}_quality precision={precision:.4f} recall={recall:.4f}", flush=True)


if __name__ == "__main__":
    main()
