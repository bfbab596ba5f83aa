"""How fast do the generated models parse a year of 15-minute usage?

Builds one Usage Segment with 35,040 value sets of three electric-usage formats (net,
forward, reverse) and times, in one run, ``orjson.loads`` of the bytes against
``cds_models.UsageSegment.model_validate_json`` of the same bytes (median of several runs).
Target (issue 5): the model parse takes at most 2x the orjson time, with known enumeration
values still enum members and unknown ones kept.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import cds_models
import orjson

INTERVAL = 900
SETS = 35_040  # 365 days x 96 intervals
RUNS = 7


def year_of_usage(seed: int = 1) -> dict:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    values = []
    for i in range(SETS):
        forward = round(rng.uniform(0.05, 1.2), 3)
        reverse = round(-rng.uniform(0, 0.6), 3) if 40 <= i % 96 <= 64 else 0.0
        entry = [{"eu": round(forward + reverse, 3)}, {"eu": forward}, {"eu": reverse}]
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
        ],
        "values": values,
    }


def median_seconds(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    raw = orjson.dumps(year_of_usage())
    segment = cds_models.UsageSegment.model_validate_json(raw)
    fmt = segment.formats[0]
    assert isinstance(fmt.units, cds_models.UnitType), "known enum values must stay typed"
    assert len(segment.values) == SETS

    t_orjson = median_seconds(lambda: orjson.loads(raw))
    t_model = median_seconds(lambda: cds_models.UsageSegment.model_validate_json(raw))
    tracemalloc.start()
    cds_models.UsageSegment.model_validate_json(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    ratio = t_model / t_orjson
    print(f"payload: {len(raw) / 1e6:.2f} MB, {SETS} value sets x 3 formats, median of {RUNS}")
    print(f"{'parser':<38} {'time':>9} {'x orjson':>9}")
    print(f"{'orjson.loads':<38} {t_orjson * 1e3:>7.1f}ms {1.0:>9.2f}")
    print(f"{'UsageSegment.model_validate_json':<38} {t_model * 1e3:>7.1f}ms {ratio:>9.2f}")
    print(f"peak memory of one model parse: {peak / 1e6:.1f} MB")
    print(f"target <= 2.00x: {'met' if ratio <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
