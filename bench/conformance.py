"""How long does a full conformance run take, and does it catch every broken variant?

1. Starts ``cdsgen serve`` in its own process (a loopback port, a fresh SQLite file) and runs
   the whole suite against it, as a Server team would run ``cdsgen conformance URL``: time,
   request count, and the counts by result (target: under 60 s).
2. Runs the whole suite — every group, no ``--only`` — against each deliberately broken
   variant of the reference Server (``tests/conformance_variants.py``) and checks that the
   variant's expected check is among the failures.

Prints two tables; exits 1 if a variant went unnoticed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cds_conformance import FormConsent, Options, run_conformance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cds_harness import serve_app  # noqa: E402
from conformance_variants import VARIANTS, Mutating  # noqa: E402


def serve(db: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdsgen", "serve", "--port", str(port), "--db", str(db)],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/.well-known/cds-server-metadata.json").raise_for_status()
            return proc, base
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("cdsgen serve did not start") from None
            time.sleep(0.05)


def reference_run(tmp: Path) -> None:
    proc, base = serve(tmp / "reference.sqlite3")
    try:
        started = time.monotonic()
        report = run_conformance(base, Options(consent=FormConsent(), rate=0))
        seconds = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    counts = report.counts()
    print("full run against `cdsgen serve` (default page size)")
    print(
        f"{'seconds':>8} {'requests':>9} {'checks':>7} {'passed':>7} {'failed':>7} {'skipped':>8}"
    )
    print(
        f"{seconds:>8.1f} {report.requests:>9} {len(report.outcomes):>7} {counts['passed']:>7} "
        f"{counts['failed']:>7} {counts['skipped']:>8}"
    )
    for o in report.outcomes:
        if o.status in ("failed", "skipped"):
            print(f"  {o.status}: {o.check.id}: {o.message[:150]}")
    print(f"target < 60 s: {'met' if seconds < 60 else 'MISSED'}\n")


def variant_runs(tmp: Path) -> bool:
    from cdsgen.server import create_app

    app = Mutating(create_app(tmp / "variants.sqlite3", page_size=25))
    caught = True
    print("full runs against each broken variant")
    print(f"{'variant':<40} {'seconds':>8} {'requests':>9} {'failed':>7}  expected check")
    total = time.monotonic()
    with serve_app(app) as url:
        for variant in VARIANTS:
            app.activate(variant)
            started = time.monotonic()
            report = run_conformance(url, Options(consent=FormConsent(), rate=0))
            seconds = time.monotonic() - started
            app.activate(None)
            hit = variant.expected in report.failed_ids()
            caught &= hit
            print(
                f"{variant.name:<40} {seconds:>8.1f} {report.requests:>9} "
                f"{len(report.failed_ids()):>7}  {variant.expected} "
                f"{'caught' if hit else 'MISSED'}"
            )
    print(f"{len(VARIANTS)} variants in {time.monotonic() - total:.1f}s; all caught: {caught}")
    return caught


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        reference_run(Path(tmp))
        return 0 if variant_runs(Path(tmp)) else 1


if __name__ == "__main__":
    sys.exit(main())
