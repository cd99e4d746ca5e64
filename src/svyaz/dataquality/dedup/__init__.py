"""Duplicate finding.

The engine (normalize, compare, engine, presets) is pure Python and independent of Django:
records in, scored pairs out, so it can be benchmarked on FEBRL (benchmarks/dedup_febrl.py)
and on generated bases (benchmarks/dedup_scale.py). The Django side — streaming contacts and
companies out of the database, the DuplicatePair queue, the scan job, pages and API — lives
in the modules `records`, `services`, `selectors`, `views`, `api` of this package and is
imported only by the app, never from here.
"""

from svyaz.dataquality.dedup.engine import Engine, Field, Match, Rule, key

__all__ = ["Engine", "Field", "Match", "Rule", "key"]
