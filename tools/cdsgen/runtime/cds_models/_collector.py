"""Keeping CPython's cyclic garbage collector out of a JSON parse.

Every 700 new containers (lists, dicts, model instances) start a young pass of the cyclic
collector over them; every tenth young pass is a middle pass over all containers that survived
a young one since, and every tenth middle pass a full pass over the whole heap, once what
reached the oldest generation since the last one is a quarter of it. A year of 15-minute
usage is some 35,000 Value Set lists and 140,000 Value Object dicts: its parse starts about
230 young passes, 20 middle passes and, in a process of modest size, a full one, which cost
some 20 to 30 ms together, about what ``orjson`` takes for the parse itself
(``bench/parse_usage.py`` in the cdsgen repository). They cannot find anything: what a JSON
parse builds is a tree (each list item, dict value and model field is a new object of its own
or a shared immutable one such as an enum member), and a tree holds no reference cycle.

So a parse puts automatic collections off until it ends. Nothing is skipped, only postponed:
the collector counts the new containers meanwhile, so the first allocation after the parse
starts the pass that is due, which also finds any cycle a user's validator may have made. A
result freed before then never costs the collector anything; a result kept goes through its
young and middle passes after the parse instead of during it (a little dearer then, as its
containers have left the processor's cache: letting the young passes run during the parse
would save that, and cost a result freed at once about as much).

The application's own settings win. The collector's switch (``gc.disable()``/``gc.enable()``)
is never touched: a parse suspends automatic collections only, by setting the young
generation's threshold to 0 (which every CPython since 2.x reads as "no automatic
collection"), and sets back the thresholds it found. Thresholds the application changes in
the meantime are kept, not overwritten, and nothing changes when the application has
automatic collections suspended already. With several threads parsing at once, the parse that
suspended collections sets them back when it ends, even if others still run (they go on with
collections, only slower), so a pause never outlasts one parse however many threads keep
parsing. (The one interleaving this cannot tell apart: another thread saving the thresholds
during a parse and setting them back after it, which would leave the young threshold at 0.)
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_found: tuple[int, ...] | None = None  # while a parse has collections suspended: to set back
_ours: tuple[int, ...] | None = None  # ... and the thresholds it set, as CPython reports them


def postpone_collections() -> bool:
    """Suspend automatic collections for a parse; whether it did (then the parse must call
    :func:`resume_collections`): not when another parse has, or the application had."""
    global _found, _ours
    with _lock:
        thresholds = gc.get_threshold()
        if _found is not None or not thresholds[0]:
            return False
        gc.set_threshold(0, *thresholds[1:])
        _found, _ours = thresholds, gc.get_threshold()
        return True


def resume_collections() -> None:
    """Set back the thresholds :func:`postpone_collections` found, unless they were changed."""
    global _found, _ours
    with _lock:
        if gc.get_threshold() == _ours:
            gc.set_threshold(*_found)
        _found = _ours = None
