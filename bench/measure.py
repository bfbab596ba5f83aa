"""What every benchmark here shares: timing whole processes, medians, and failing loudly.

A benchmark must prove it measured the work it names before it prints a figure, so each
check goes through :func:`require`, which ends the run with exit status 2 and the reason.
Missing an aim is not a failure of the benchmark: it prints ``NOT met`` next to the figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class WorkMissing(SystemExit):
    """The measured work did not happen (exit status 2)."""


def require(condition: object, what: str) -> None:
    """Stop the benchmark, loudly, unless ``condition`` holds."""
    if not condition:
        print(f"BENCHMARK FAILED: {what}", file=sys.stderr)
        raise WorkMissing(2)


@dataclass
class ProcessRun:
    """One whole process: wall seconds, CPU seconds (its own and its waited-for children)."""

    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def run_process(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> ProcessRun:
    """Run ``argv`` to its end (killed, and the benchmark failed, after ``timeout`` seconds);
    CPU time comes from ``wait4`` of that one process, which includes every descendant it
    waited for (datamodel-codegen, ruff)."""
    out_path, err_path = Path(cwd, ".bench-stdout"), Path(cwd, ".bench-stderr")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                require(False, f"{argv[0]} took more than {timeout:.0f}s")
            time.sleep(0.005)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = ProcessRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        returncode=proc.returncode,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )
    out_path.unlink()
    err_path.unlink()
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(value: float, aim: float, higher_is_better: bool = False) -> str:
    met = value >= aim if higher_is_better else value <= aim
    return "met" if met else "NOT met"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        right = [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        return "  ".join([first.ljust(widths[0]), *right])

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def load_note() -> str:
    """The machine's load average, printed with every figure (it is shared)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
