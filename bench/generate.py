"""How long does `cdsgen generate` take against datamodel-code-generator alone?

Times, median of several runs each: (a) the whole `cdsgen generate --check` pipeline (load,
lint with example validation, every emitter, compare) in a subprocess, and (b) the
datamodel-code-generator run alone on the same OpenAPI input. Aim (issue 2): a <= 1.5x.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from cdsgen.emit.models import codegen_input, run_codegen
from cdsgen.emit.openapi import build_openapi
from cdsgen.lint import lint

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3


def timed(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    spec = lint(ROOT / "spec").spec
    api = codegen_input(build_openapi(spec, None))
    t_codegen = timed(lambda: run_codegen(api))
    t_generate = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "cdsgen", "generate", "--check"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    )
    t_lint = timed(lambda: lint(ROOT / "spec"))
    print(f"components: {len(api['components']['schemas'])}, median of {RUNS}")
    print(f"{'step':<44} {'time':>8} {'x codegen':>10}")
    print(f"{'datamodel-code-generator alone':<44} {t_codegen:>7.2f}s {1.0:>10.2f}")
    print(f"{'cdsgen lint (in-process)':<44} {t_lint:>7.2f}s {t_lint / t_codegen:>10.2f}")
    print(
        f"{'cdsgen generate --check (whole pipeline)':<44} {t_generate:>7.2f}s "
        f"{t_generate / t_codegen:>10.2f}"
    )
    verdict = "met" if t_generate <= 1.5 * t_codegen else "NOT met"
    print(f"aim <= 1.50x: {verdict}")


if __name__ == "__main__":
    main()
