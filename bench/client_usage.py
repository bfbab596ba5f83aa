"""How long does the generated client take to read every Usage Segment of a registration?

Starts the reference Server (`cdsgen serve`, fresh database in a temporary folder), registers
one Client for the usage-query scope, then reads all its Usage Segments (a year of 15-minute
usage and more: 439 segments, 5 pages) several times each way:

* raw httpx, JSON bodies parsed by ``Response.json()`` (the floor);
* ``CdsSession.iter_usage_segments`` (``cds_models`` objects, sync);
* ``AsyncCdsSession.iter_usage_segments`` (async).

Prints the median time of each, and the ratio to the raw reads.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cds_client import AsyncCdsClient, CdsClient
from measure import load_note, require

RUNS = int(os.environ.get("RUNS", "5"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/.well-known/cds-server-metadata.json").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("cdsgen serve did not start")


def median(fn) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), count


def main() -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "bench.sqlite3")
        cmd = [sys.executable, "-m", "cdsgen", "serve", "--port", str(port), "--db", str(db)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(base, proc)
            rows = run(base)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    counts = {name: count for name, _, count in rows}
    require(rows[0][2] > 0, "the token sees no Usage Segment: nothing was read")
    require(len(set(counts.values())) == 1, f"the three ways read different counts: {counts}")
    floor = rows[0][1]
    print(f"median of {RUNS} runs each; {load_note()}")
    print(f"{'read every usage segment':<36} {'segments':>9} {'median':>9} {'x raw':>6}")
    for name, seconds, count in rows:
        print(f"{name:<36} {count:>9} {seconds * 1000:>7.0f}ms {seconds / floor:>6.2f}")


def run(base: str) -> list[tuple[str, float, int]]:
    """Each way times only the reads: its HTTP client (whose TLS set-up alone takes some 20 ms)
    and, for the async way, its event loop are made once, before the runs."""
    with CdsClient(base) as cds:
        usage = cds.register(["cds_query_usage"]).session_for_scope("cds_query_usage")
        url = str(usage.metadata.cds_usagesegments_api)
        token = usage.access_token()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:

            def raw() -> int:
                count, sets, next_url = 0, 0, url
                while next_url:
                    r = http.get(next_url)
                    require(r.status_code == 200, f"{next_url}: {r.status_code} {r.text[:200]}")
                    page = r.json()
                    count += len(page["usage_segments"])
                    sets += sum(len(s["values"]) for s in page["usage_segments"])
                    next_url = page["next"]
                require(sets > 0, "the Usage Segments carry no value sets")
                return count

            rows = [("raw httpx + json", *median(raw))]

        def sync() -> int:
            return sum(1 for _ in usage.iter_usage_segments())

        rows.append(("CdsSession.iter_usage_segments", *median(sync)))
        rows.append(
            ("AsyncCdsSession.iter_usage_segments", *asyncio.run(async_median(base, usage)))
        )
        return rows


async def async_median(base: str, usage) -> tuple[float, int]:
    """:func:`median` of the async reads, in one event loop with one client."""
    async with AsyncCdsClient(base) as acds:
        session = await acds.session_from_token(usage.access_token(), metadata=usage.metadata)
        times, count = [], 0
        for _ in range(RUNS):
            start = time.perf_counter()
            count = len([s async for s in session.iter_usage_segments()])
            times.append(time.perf_counter() - start)
    return statistics.median(times), count


if __name__ == "__main__":
    main()
