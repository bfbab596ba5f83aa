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
collection"), and sets back the thresholds it found. With several threads parsing at once
the first parse to start saves the thresholds and the last to end restores them, so no parse
resumes collections while another still runs; thresholds the application changes in the
meantime are kept, not overwritten, and nothing changes when the application has automatic
collections suspended already. (The one interleaving this cannot tell apart: another thread
saving the thresholds during a parse and setting them back after it, which would leave the
young threshold at 0.)
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_parses = 0  # parses running now, in all threads
_found: tuple[int, ...] | None = None  # the thresholds to set back when the last one ends
_ours: tuple[int, ...] | None = None  # the thresholds the first one set, as CPython reports them


def postpone_collections() -> None:
    """Start a parse: suspend automatic collections unless a running parse did already."""
    global _parses, _found, _ours
    with _lock:
        if _parses == 0:
            thresholds = gc.get_threshold()
            if thresholds[0]:  # 0: automatic collections are suspended already
                gc.set_threshold(0, *thresholds[1:])
                _found, _ours = thresholds, gc.get_threshold()
        _parses += 1


def resume_collections() -> None:
    """End a parse: the last one running sets back the thresholds the first one found."""
    global _parses, _found, _ours
    with _lock:
        _parses -= 1
        if _parses == 0 and _found is not None:
            if gc.get_threshold() == _ours:  # nobody changed them in the meantime
                gc.set_threshold(*_found)
            _found = _ours = None
