"""Tuning of a long-running server process, applied by the entry points (svyaz.wsgi,
svyaz.asgi) once Django is set up.

Python's cyclic garbage collector now and then walks every tracked object of the process
(a "generation 2" collection). After start-up that is ~150,000 objects that never die —
modules, the URL conf, models' metadata, translations — and one such walk took ~95 ms on
the development VM: a request that happens to trigger it takes that much longer, which is
what a p95 sees. `gc.freeze()` moves the objects alive at that moment into a permanent
generation the collector skips (Python's documentation recommends it for pre-forking
servers, where it also keeps the pages shared by copy-on-write). Objects made later are
collected as usual, so nothing leaks that would not leak anyway.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what start-up left as garbage, then freeze the survivors. Returns how many
    objects are frozen (gc.get_freeze_count()). Idempotent: a second call freezes what
    was made since the first."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
