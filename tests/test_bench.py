"""The benchmarks still measure what they name (``bench/``).

Speed is judged by the benchmarks themselves, never here: these tests run a benchmark in its
shortest form and check only that it did its work (it exits 2, "BENCHMARK FAILED", when the
work it measures is missing — as ``bench/generate.py`` once did unnoticed when
``generate --check`` moved its report to stderr) and printed its table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / name)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_generate_benchmark_measures_the_regeneration():
    proc = run_bench("generate.py", RUNS="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BENCHMARK FAILED" not in proc.stderr
    for row in ("datamodel-codegen CLI alone", "one description edited", "not cached"):
        assert row in proc.stdout
    assert "aims for one description edited" in proc.stdout


def test_parse_benchmark_measures_the_parse():
    proc = run_bench("parse_usage.py", RUNS="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "UsageSegment.model_validate_json" in proc.stdout
    assert "aim <= 1.00x" in proc.stdout


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="Debian's wrk is not installed (`make wrk` installs it)"
)
def test_server_benchmark_measures_the_server():
    proc = run_bench("serve_bench.py", CELL_SECONDS="1", REPEATS="1", YEAR_RUNS="1", WORKERS="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for row in ("metadata", "accounts", "usage page", "ceiling", "one year of 15-min usage"):
        assert row in proc.stdout
    assert "aims at concurrency 8" in proc.stdout


def test_client_benchmark_reads_every_usage_segment():
    proc = run_bench("client_usage.py", RUNS="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for row in ("raw httpx + json", "CdsSession.iter_usage_segments", "AsyncCdsSession"):
        assert row in proc.stdout
