"""How fast do the generated models parse a year of 15-minute usage?

Builds one Usage Segment with 35,040 value sets of three electric-usage formats (net,
forward, reverse) plus one format of a type no document defines, and times
``orjson.loads`` of the bytes against ``cds_models.UsageSegment.model_validate_json`` of the
same bytes, the two interleaved run by run (median of the per-run ratios, CPU time of this
process, since the machine is shared). Each run starts from a collected heap and counts
freeing the result.

The models take the Value Sets in bulk (``cds_models._bulk``): ``pydantic_core.from_json``
parses the JSON, built-ins check the Value Sets' shape, ``model_validate`` checks the rest.
pydantic's own ``BaseModel.model_validate_json`` on the same class, which checks the some
140,000 Value Objects one by one, is timed too, to show what the bulk path brings. The
parses are timed four ways, each under the same conditions for every parser; the aim is
judged on the first:

* **dropped**: collector on, defaults, the result freed right after the parse (as the
  client does with a page it has read);
* **kept**: collector on, the result kept through the young pass and the middle pass that
  come next (``gc.collect(0)``, ``gc.collect(1)``), then freed;
* **larger process**: as *dropped*, with 300,000 more containers alive (a mid-sized
  application): a full collector pass falls due only once the new containers are a quarter
  of the old ones, so no parse pays one, and each parser's own cost weighs more;
* **collector off, both**: no passes at all: what each parser costs by itself.

A second table times pages of a ``UsageSegmentListing`` (100 segments of one value set
each, as monthly readings, and of 96, as daily 15-minute data) against pydantic's own parse.

Before any figure it checks the work: the bulk path applies to this payload, every value
set parsed to the values ``orjson`` reads, the known formats typed (their classes and
``units`` enum members), the unknown format kept with its extra fields, the missing
readings kept as ``None``, the unknown type's value objects kept, and the result the same
as pydantic's own. Aim (issue 18): the model parse takes at most 1.0x the orjson time.
"""

from __future__ import annotations

import gc
import os
import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import cds_models
import orjson
from cds_models._bulk import bulk_plan, take
from measure import load_note, median, print_table, require, verdict
from pydantic import BaseModel
from pydantic_core import from_json

INTERVAL = 900
SETS = 35_040  # 365 days x 96 intervals
RUNS = int(os.environ.get("RUNS", "9"))
AIM = 1.0


def year_of_usage(seed: int = 1) -> dict:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    values = []
    for i in range(SETS):
        forward = round(rng.uniform(0.05, 1.2), 3)
        reverse = round(-rng.uniform(0, 0.6), 3) if 40 <= i % 96 <= 64 else 0.0
        entry = [
            {"eu": round(forward + reverse, 3)},
            {"eu": forward},
            {"eu": reverse},
            {"fv": i % 7},
        ]
        if i % 5000 == 4999:
            entry[1] = None  # a missing reading
        values.append(entry)
    return {
        "cds_usagesegment_id": "seg-2025",
        "cds_created": "2026-01-01T00:00:00Z",
        "cds_modified": "2026-01-01T00:00:00Z",
        "cds_synced": "2026-01-01T00:00:00Z",
        "related_aggregations": [],
        "related_accounts": ["acct-1"],
        "related_servicecontracts": ["sc-1"],
        "related_servicepoints": ["sp-1"],
        "related_meterdevices": ["md-1"],
        "related_billsections": [],
        "segment_start": start.isoformat().replace("+00:00", "Z"),
        "segment_end": (start + timedelta(seconds=INTERVAL * SETS))
        .isoformat()
        .replace("+00:00", "Z"),
        "interval": INTERVAL,
        "formats": [
            {"id": "net", "type": "electric_usage", "units": "kWh", "direction": "net"},
            {"id": "fwd", "type": "electric_usage", "units": "kWh", "direction": "forward"},
            {"id": "rev", "type": "electric_usage", "units": "kWh", "direction": "reverse"},
            {"id": "new", "type": "future_value_type", "units": "kWh", "colour": "green"},
        ],
        "values": values,
    }


#: how a run treats the collector and the result (see the module docstring)
WAYS = {
    "dropped": "collector on, result dropped",
    "kept": "collector on, result kept",
    "larger": "larger process, result dropped",
    "off": "collector off, both",
}
#: containers alive during the "larger" runs
LARGER_PROCESS = 300_000


def cpu_seconds(parse: Callable[[], object], way: str) -> float:
    """CPU seconds of one parse, the collector and the result treated the ``way`` named."""
    alive = [[] for _ in range(LARGER_PROCESS)] if way == "larger" else []
    gc.collect()
    if way == "off":
        gc.disable()
    try:
        start = time.process_time()
        parsed = parse()
        if way == "kept":
            gc.collect(0)
            gc.collect(1)
        del parsed
        return time.process_time() - start
    finally:
        gc.enable()
        del alive


def check(segment: cds_models.UsageSegment, raw: bytes) -> None:
    """The parse did the work: all value sets, typed known formats, kept unknown ones."""
    require(len(segment.values) == SETS, f"{len(segment.values)} value sets, not {SETS}")
    require(
        segment.values == orjson.loads(raw)["values"],
        "the value sets differ from what orjson reads",
    )
    known, unknown = segment.formats[0], segment.formats[3]
    require(
        all(isinstance(f, cds_models.ElectricUsageValueFormat) for f in segment.formats[:3]),
        "the known formats are not ElectricUsageValueFormat objects",
    )
    require(
        isinstance(known.units, cds_models.UnitType),
        f"a known format's units are not typed: {type(known.units).__name__}",
    )
    require(
        type(unknown).__name__ != type(known).__name__
        and (unknown.model_extra or {}).get("colour") == "green",
        "the unknown value format was not kept with its fields",
    )
    require(segment.values[4999][1] is None, "a missing reading was not kept as None")
    require(segment.values[10][3] == {"fv": 3}, "an unknown type's value object was not kept")


def pydantics_own(raw: bytes) -> cds_models.UsageSegment:
    """pydantic's own JSON parse of the model, without the bulk path."""
    return BaseModel.model_validate_json.__func__(cds_models.UsageSegment, raw)


def main() -> None:
    raw = orjson.dumps(year_of_usage())
    plan = bulk_plan(cds_models.UsageSegment)
    require(
        plan is not None and take(from_json(raw), plan) is not None,
        "the bulk path does not apply to UsageSegment or to this payload",
    )
    segment, own = cds_models.UsageSegment.model_validate_json(raw), pydantics_own(raw)
    check(segment, raw)
    check(own, raw)
    require(
        segment == own
        and segment.model_fields_set == own.model_fields_set
        and segment.model_extra == own.model_extra
        and list(map(type, segment.formats)) == list(map(type, own.formats)),
        "the model parse differs from pydantic's own",
    )

    model = "UsageSegment.model_validate_json"
    pydantic_own = "pydantic's own, value by value"
    parsers = {
        "orjson.loads": lambda: orjson.loads(raw),
        model: lambda: cds_models.UsageSegment.model_validate_json(raw),
        pydantic_own: lambda: pydantics_own(raw),
    }
    times = {(name, way): [] for name in parsers for way in WAYS}
    ratios = {(name, way): [] for name in parsers for way in WAYS}
    for _ in range(RUNS):
        for way in WAYS:
            run = {name: cpu_seconds(parse, way) for name, parse in parsers.items()}
            for name, seconds in run.items():
                times[name, way].append(seconds)
                ratios[name, way].append(seconds / run["orjson.loads"])
    tracemalloc.start()
    cds_models.UsageSegment.model_validate_json(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"payload: {len(raw) / 1e6:.2f} MB, {SETS} value sets x 4 formats")
    print(f"{RUNS} interleaved runs, CPU time, medians; {load_note()}")
    rows = [
        [
            f"{name} ({label})",
            f"{median(times[name, way]) * 1e3:.1f}ms",
            f"{median(ratios[name, way]):.2f}",
        ]
        for way, label in WAYS.items()
        for name in parsers
    ]
    print_table(["parser", "time", "x orjson"], rows)
    print(f"peak memory of one model parse: {peak / 1e6:.1f} MB")
    ratio = median(ratios[model, "dropped"])
    print(f"aim <= {AIM:.2f}x (collector on, result dropped): {verdict(ratio, AIM)}")
    print_pages()


#: value sets per segment on the pages of :func:`print_pages`: a month's single reading, a day
PAGES = {"1 value set (monthly)": 1, "96 value sets (daily)": 96}
SEGMENTS_PER_PAGE = 100


def print_pages() -> None:
    """Pages of a listing, as the client reads them: the bulk path reaches each segment, but
    parses the rest from Python values, which costs segments with few value sets more than
    their bulk check saves. Collector on, result dropped, each page against pydantic's own."""
    year = year_of_usage()
    listing = cds_models.UsageSegmentListing
    rows = []
    for label, sets in PAGES.items():
        page = {
            "usage_segments": [
                {**year, "cds_usagesegment_id": f"seg-{n}", "values": year["values"][:sets]}
                for n in range(SEGMENTS_PER_PAGE)
            ],
            "next": "https://example.com/usage-segments?page=2",
            "previous": None,
        }
        raw = orjson.dumps(page)
        plan = bulk_plan(listing)
        require(
            plan is not None and take(from_json(raw), plan) is not None,
            "the bulk path does not apply to this page",
        )
        ours = listing.model_validate_json(raw)
        own = BaseModel.model_validate_json.__func__(listing, raw)
        require(
            ours == own
            and len(ours.usage_segments) == SEGMENTS_PER_PAGE
            and all(s.values == page["usage_segments"][0]["values"] for s in ours.usage_segments),
            "the page parsed differs from pydantic's own or from the page",
        )
        parsers = {
            "orjson": lambda raw=raw: orjson.loads(raw),
            "model": lambda raw=raw: listing.model_validate_json(raw),
            "own": lambda raw=raw: BaseModel.model_validate_json.__func__(listing, raw),
        }
        times = {name: [] for name in parsers}
        for _ in range(RUNS):
            for name, parse in parsers.items():
                times[name].append(cpu_seconds(parse, "dropped"))
        per_run = list(zip(times["model"], times["own"], times["orjson"], strict=True))
        rows.append(
            [
                f"{SEGMENTS_PER_PAGE} segments x {label}, {len(raw) / 1e3:.0f} KB",
                f"{median(times['model']) * 1e3:.2f}ms",
                f"{median(times['own']) * 1e3:.2f}ms",
                f"{median([m / o for m, o, _ in per_run]):.2f}",
                f"{median([m / b for m, _, b in per_run]):.2f}",
            ]
        )
    print(f"\nUsageSegmentListing pages, {RUNS} interleaved runs, CPU time, medians; {load_note()}")
    print_table(["page", "model", "pydantic's own", "x own", "x orjson"], rows)


if __name__ == "__main__":
    main()
