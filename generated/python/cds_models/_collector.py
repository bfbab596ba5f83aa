"""Keeping CPython's cyclic garbage collector out of a JSON parse.

Every 700 new containers (lists, dicts, model instances) wake the cyclic collector: it walks
the young ones, every tenth time the middle generation too, and, once the objects that reached
the oldest generation since its last full pass are a quarter of it, the whole heap. A year of
15-minute usage is some 35,000 Value Set lists and 140,000 Value Object dicts: its parse wakes
the collector about 250 times, in a process of modest size one of those passes walks the
whole heap, and together they cost about as much as the parse itself (``bench/parse_usage.py``
in the cdsgen repository). They cannot find anything: what a JSON parse builds is a tree
(each list item, dict value and model field is a new object of its own or a shared immutable
one such as an enum member), and a tree holds no reference cycle.

So a parse puts automatic collections off until it ends. Nothing is skipped, only postponed:
the collector counts the new containers meanwhile, so the first allocation after the parse
starts the pass that is due, which also finds any cycle a user's validator may have made. A
result freed before then never costs the collector anything; a result kept goes through the
young and middle passes after the parse instead of during it.

The application's own settings win. The collector's switch (``gc.disable()``/``gc.enable()``)
is never touched: a parse suspends automatic collections only, by setting the young
generation's threshold to 0, and sets back the thresholds it found. With several threads
parsing at once the first parse to start saves the thresholds and the last to end restores
them, so no parse resumes collections while another still runs; thresholds the application
changes in the meantime are kept, not overwritten. (The one interleaving this cannot tell
apart: another thread saving the thresholds during a parse and setting them back after it,
which would leave the young threshold at 0.)
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_parses = 0  # parses running now, in all threads
_found: tuple[int, ...] | None = None  # the thresholds to set back when the last one ends


def postpone_collections() -> None:
    """Start a parse: suspend automatic collections unless a running parse did already."""
    global _parses, _found
    with _lock:
        if _parses == 0:
            thresholds = gc.get_threshold()
            if thresholds[0]:  # 0: automatic collections are suspended already
                gc.set_threshold(0, *thresholds[1:])
                _found = thresholds
        _parses += 1


def resume_collections() -> None:
    """End a parse: the last one running sets back the thresholds the first one found."""
    global _parses, _found
    with _lock:
        _parses -= 1
        if _parses == 0 and _found is not None:
            if gc.get_threshold() == (0, *_found[1:]):  # nobody changed them in the meantime
                gc.set_threshold(*_found)
            _found = None
