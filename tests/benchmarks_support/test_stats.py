"""Helpers of the benchmark suite: percentiles and the printed figure line."""

from __future__ import annotations

import pytest

from benchmarks.stats import figure_line, percentile, verdict


def test_it_interpolates_percentiles_like_numpy():
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 0) == 15
    assert percentile(values, 50) == 35
    assert percentile(values, 100) == 50
    assert percentile(values, 40) == pytest.approx(29.0)  # numpy.percentile(values, 40)
    assert percentile(values, 95) == pytest.approx(48.0)


def test_it_ignores_input_order_and_handles_one_value():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([7.5], 95) == 7.5


def test_it_rejects_empty_input_and_bad_percent():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


def test_it_prints_one_line_per_figure():
    line = figure_line("contact_list_default", [10.0, 12.0, 14.0], queries=14)
    assert line == "contact_list_default p50=12.0ms p95=13.8ms queries=14 n=3"
    assert "\n" not in line


def test_it_judges_against_the_target():
    assert verdict(49.9, 50) == "ok"
    assert verdict(50.1, 50) == "MISS"
    assert verdict(5, None) == "-"
