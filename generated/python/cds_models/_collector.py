"""Keeping CPython's costly garbage-collector passes out of a JSON parse.

Every 700 new containers (lists, dicts, model instances) start a young pass of the cyclic
collector over them; every tenth young pass is a middle pass over all containers that survived
a young one since, and every tenth middle pass a full pass over the whole heap, once what
reached the oldest generation since the last one is a quarter of it. A year of 15-minute
usage is some 35,000 Value Set lists and 140,000 Value Object dicts: its parse starts about
230 young passes, which cost little (their containers are new, still in the processor's
cache), and about 20 middle passes and, in a process of modest size, a full one, which walk
what was built so far and cost some 20 to 30 ms, about what ``orjson`` takes for the parse
itself (``bench/parse_usage.py`` in the cdsgen repository). The older passes cannot find
anything there: what a JSON parse builds is a tree (each list item, dict value and model field
is a new object of its own or a shared immutable one such as an enum member), and a tree holds
no reference cycle.

So a parse lets the young passes run and puts the middle and full passes off until it ends.
Nothing is skipped, only postponed: the collector counts the young passes meanwhile, so the
first young pass after the parse is a middle one, which finds anything a middle pass would
have found during it. A result freed before then never costs a middle or full pass at all; a
result kept goes through them after the parse instead of during it. (Putting the young passes
off as well costs more: a result kept then goes through its young pass after the parse, when
its containers have left the cache.)

The application's own settings win. The collector's switch (``gc.disable()``/``gc.enable()``)
is never touched: a parse raises the thresholds of the middle and the oldest generation out of
reach, which holds back the middle and full passes only, and sets back the thresholds it
found. With several threads parsing at once the first parse to start saves the thresholds and
the last to end restores them, so no parse ends the pause while another still runs;
thresholds the application changes in the meantime are kept, not overwritten, and nothing
changes when the application has automatic collections suspended already (young threshold 0).
(The one interleaving this cannot tell apart: another thread saving the thresholds during a
parse and setting them back after it, which would leave the older thresholds out of reach.)
"""

from __future__ import annotations

import gc
import threading

#: The largest threshold CPython takes (a C int): no middle or full pass falls due meanwhile.
OUT_OF_REACH = 2**31 - 1

_lock = threading.Lock()
_parses = 0  # parses running now, in all threads
_found: tuple[int, ...] | None = None  # the thresholds to set back when the last one ends
_ours: tuple[int, ...] | None = None  # the thresholds the first one set, as CPython reports them


def postpone_collections() -> None:
    """Start a parse: hold back middle and full passes unless a running parse does already."""
    global _parses, _found, _ours
    with _lock:
        if _parses == 0:
            thresholds = gc.get_threshold()
            if thresholds[0]:  # 0: automatic collections are suspended already
                gc.set_threshold(thresholds[0], OUT_OF_REACH, OUT_OF_REACH)
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
