"""How fast do the generated models parse a year of 15-minute usage?

Builds one Usage Segment with 35,040 value sets of three electric-usage formats (net,
forward, reverse) plus one format of a type no document defines, and times
``orjson.loads`` of the bytes against ``cds_models.UsageSegment.model_validate_json`` of the
same bytes, the two interleaved run by run (median of the per-run ratios, CPU time of this
process, since the machine is shared).

Before any figure it checks the work: every value set parsed, the known formats typed (their
``units`` enum members), the unknown format kept with its extra fields, the missing readings
kept as ``None``. Aim (issue 18): the model parse takes at most 1.0x the orjson time.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import cds_models
import orjson
from measure import median, require, verdict

INTERVAL = 900
SETS = 35_040  # 365 days x 96 intervals
RUNS = 9
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


def cpu_seconds(fn) -> float:
    gc.collect()
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def check(segment: cds_models.UsageSegment) -> None:
    """The parse did the work: all value sets, typed known formats, kept unknown ones."""
    require(len(segment.values) == SETS, f"{len(segment.values)} value sets, not {SETS}")
    known, unknown = segment.formats[0], segment.formats[3]
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


def main() -> None:
    raw = orjson.dumps(year_of_usage())
    check(cds_models.UsageSegment.model_validate_json(raw))

    t_orjson, t_model, ratios = [], [], []
    for _ in range(RUNS):
        a = cpu_seconds(lambda: orjson.loads(raw))
        b = cpu_seconds(lambda: cds_models.UsageSegment.model_validate_json(raw))
        t_orjson.append(a)
        t_model.append(b)
        ratios.append(b / a)
    tracemalloc.start()
    cds_models.UsageSegment.model_validate_json(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    ratio = median(ratios)
    print(f"payload: {len(raw) / 1e6:.2f} MB, {SETS} value sets x 4 formats")
    print(f"{RUNS} interleaved runs, CPU time, medians")
    print(f"{'parser':<38} {'time':>9} {'x orjson':>9}")
    print(f"{'orjson.loads':<38} {median(t_orjson) * 1e3:>7.1f}ms {1.0:>9.2f}")
    print(f"{'UsageSegment.model_validate_json':<38} {median(t_model) * 1e3:>7.1f}ms {ratio:>9.2f}")
    print(f"peak memory of one model parse: {peak / 1e6:.1f} MB")
    print(f"aim <= {AIM:.2f}x: {verdict(ratio, AIM)}")


if __name__ == "__main__":
    main()
