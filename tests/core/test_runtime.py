"""svyaz.core.runtime: the server entry points freeze what start-up made (issue #6)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, sys
before = gc.get_freeze_count()
import {module}
print(before, gc.get_freeze_count(), gc.isenabled())
"""


@pytest.mark.parametrize("module", ["svyaz.wsgi", "svyaz.asgi"])
def test_the_entry_point_freezes_the_start_up_objects_and_keeps_the_collector_on(module):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SVYAZ_MANIFEST_STATIC": "0"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(module=module)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True,
    ).stdout.split()  # fmt: skip
    before, after, enabled = int(out[-3]), int(out[-2]), out[-1]
    assert before == 0
    # Django, the URL conf and the models make well over 10,000 long-lived objects.
    assert after > 10_000
    assert enabled == "True"


def test_a_second_call_freezes_what_was_made_since_and_the_collector_skips_it():
    import gc

    from svyaz.core.runtime import freeze_startup_objects

    freeze_startup_objects()
    kept = [[i] for i in range(5000)]  # 5,000 new tracked lists
    ids = {id(x) for x in kept}
    try:
        # gc.get_objects() lists what the collector walks: the new lists, not yet frozen.
        assert ids <= {id(o) for o in gc.get_objects()}
        assert freeze_startup_objects() >= 5000
        # Frozen: out of every generation the collector walks (counts alone can't tell,
        # frozen objects that die meanwhile leave the count).
        assert not ids & {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()  # leave the test process as it was
    assert ids <= {id(o) for o in gc.get_objects()}
