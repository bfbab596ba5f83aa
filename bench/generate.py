"""Is `cdsgen generate --check` close to the cost of datamodel-code-generator alone?

Whole processes, side by side, on a copy of the project in a temporary folder:

* ``cdsgen generate --check`` after a change to one description (a field summary of
  ``MeterDevice``, a different text each run, so no run finds the previous run's answer);
* the ``datamodel-codegen`` CLI with our options (``cdsgen.emit.models.CODEGEN_OPTIONS``) on
  the same OpenAPI that cdsgen gives it.

Runs alternate (cdsgen first, then the CLI first) so a change in the machine's load hits both
alike; the figures are medians of wall time and of CPU time (the process and every child it
waited for: datamodel-codegen and ruff under cdsgen). Before printing anything the benchmark
checks the work: the copy starts up to date, each cdsgen run reports exactly the outputs the
edit must change as stale, and each CLI run writes a module with every component schema.

Both run as a user's Python runs them: with bytecode caching (``PYTHONDONTWRITEBYTECODE``
is dropped from their environment, so cdsgen's editable install keeps its ``.pyc`` files as
pip's regular install of datamodel-code-generator does) and cdsgen with its user cache (in
a folder of the benchmark's own, warmed by the first run).

Aims (issue 18): cdsgen <= 1.2x the wall time and <= 1.8x the CPU time of the CLI. A third
kind of run, printed for information, is the same edit with the generator's output removed
from the cache first (what a change of the schemas' shape costs: the generator runs).
``RUNS`` (default 5) sets the number of pairs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from cdsgen.emit.models import CODEGEN_OPTIONS, codegen_input
from cdsgen.emit.openapi import build_openapi
from cdsgen.lint import lint
from measure import (
    ProcessRun,
    load_note,
    median,
    print_table,
    require,
    run_process,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("RUNS", "5"))
BIN = Path(sys.executable).parent
#: The project folders `cdsgen generate --check` reads (source) and compares (outputs).
COPIED = ["spec", "generated", "site"]
#: The description edited before each run: a field summary in one source file.
EDITED_FILE = "spec/cds-wg3-01/meter-devices.yaml"
EDITED_LINE = re.compile(r"^(\s+summary: Server-assigned identifier of this meter device.*?)\.?$")
#: Outputs that the edit must make stale (each run proves it did the work).
MUST_BE_STALE = [
    "generated/openapi/cds.openapi.json",
    "generated/openapi/cds.openapi.yaml",
    "generated/openapi/cds-wg3-01.openapi.json",
    "generated/openapi/cds-wg3-01.openapi.yaml",
    "generated/python/cds_models/__init__.py",
]
AIM_WALL, AIM_CPU = 1.2, 1.8
#: The environment of both processes: bytecode caching on, the benchmark's own user cache.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def copy_project(dest: Path) -> None:
    for name in COPIED:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))


def edit_description(project: Path, run: int) -> None:
    """Give the edited summary a text of its own for this run."""
    path = project / EDITED_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        found = EDITED_LINE.match(line.rstrip("\n"))
        if found:
            base = re.sub(r" \(edit \d+\)$", "", found.group(1))
            lines[i] = f"{base} (edit {run}).\n"
            path.write_text("".join(lines), encoding="utf-8")
            return
    require(False, f"the summary to edit is not in {EDITED_FILE} any more")


def run_cdsgen(project: Path, run: int) -> ProcessRun:
    edit_description(project, run)
    result = run_process([str(BIN / "cdsgen"), "generate", "--check"], cwd=project, env=ENV)
    stale = set(re.findall(r"^stale: (\S+)$", result.stdout + result.stderr, re.MULTILINE))
    require(result.returncode == 1, f"generate --check exited {result.returncode}: {result.stderr}")
    require(
        set(MUST_BE_STALE) <= stale,
        f"generate --check did not find {sorted(set(MUST_BE_STALE) - stale)} stale",
    )
    require("Traceback" not in result.stderr, f"generate --check crashed: {result.stderr}")
    return result


def run_codegen(workdir: Path, source: Path, names: list[str]) -> ProcessRun:
    target = workdir / "models.py"
    target.unlink(missing_ok=True)
    argv = [str(BIN / "datamodel-codegen"), "--input", str(source), "--output", str(target)]
    result = run_process([*argv, *CODEGEN_OPTIONS], cwd=workdir, env=ENV)
    require(result.returncode == 0, f"datamodel-codegen exited {result.returncode}")
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    missing = [n for n in names if not re.search(rf"^{n}\b|^class {n}\b", text, re.MULTILINE)]
    require(not missing, f"datamodel-codegen wrote no {missing[:5]}")
    return result


def run_cdsgen_cold(project: Path, cache: Path, run: int) -> ProcessRun:
    """As :func:`run_cdsgen`, with no datamodel-code-generator output in the cache (as after
    a change of the schemas' shape): the generator must run, and leave its output cached."""
    shutil.rmtree(cache / "codegen", ignore_errors=True)
    result = run_cdsgen(project, run)
    require(list((cache / "codegen").glob("*.py")), "the cold run did not run the generator")
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cdsgen-bench-") as tmp:
        project, workdir, cache = Path(tmp, "project"), Path(tmp, "codegen"), Path(tmp, "cache")
        workdir.mkdir()
        copy_project(project)
        ENV["CDSGEN_CACHE_DIR"] = str(cache)
        baseline = run_process([str(BIN / "cdsgen"), "generate", "--check"], cwd=project, env=ENV)
        require(baseline.returncode == 0, f"the copy is not up to date:\n{baseline.stdout}")
        api = codegen_input(build_openapi(lint(project / "spec").spec, None))
        source = workdir / "openapi.json"
        source.write_text(json.dumps(api, indent=1), encoding="utf-8")
        names = sorted(api["components"]["schemas"])

        run_cdsgen(project, 0)  # warm up: bytecode, compiled templates, the user cache
        run_codegen(workdir, source, names)
        kinds = {
            "warm": lambda run: run_cdsgen(project, run),
            "cold": lambda run: run_cdsgen_cold(project, cache, RUNS + run),
            "cli": lambda run: run_codegen(workdir, source, names),
        }
        runs: dict[str, list[ProcessRun]] = {kind: [] for kind in kinds}
        order = list(kinds)
        for run in range(1, RUNS + 1):
            for kind in order:  # each kind goes first in turn
                runs[kind].append(kinds[kind](run))
            order = order[1:] + order[:1]

    theirs = runs["cli"]
    print(f"{RUNS} interleaved runs of each, medians; {len(names)} schemas; {load_note()}")
    rows = {
        "datamodel-codegen CLI alone": theirs,
        "cdsgen generate --check, one description edited": runs["warm"],
        "  the same, generator output not cached": runs["cold"],
    }
    table = []
    for name, ours in rows.items():
        wall = median([a.wall / b.wall for a, b in zip(ours, theirs, strict=True)])
        cpu = median([a.cpu / b.cpu for a, b in zip(ours, theirs, strict=True)])
        table.append([
            name, f"{median([r.wall for r in ours]):.2f}s", f"{median([r.cpu for r in ours]):.2f}s",
            f"{wall:.2f}x", f"{cpu:.2f}x",
        ])  # fmt: skip
    print_table(["process", "wall", "CPU", "wall / CLI", "CPU / CLI"], table)
    warm = runs["warm"]
    wall_ratio = median([a.wall / b.wall for a, b in zip(warm, theirs, strict=True)])
    cpu_ratio = median([a.cpu / b.cpu for a, b in zip(warm, theirs, strict=True)])
    print(
        f"aims for one description edited (median of per-run ratios): wall {wall_ratio:.2f}x "
        f"(<= {AIM_WALL}x: {verdict(wall_ratio, AIM_WALL)}), CPU {cpu_ratio:.2f}x "
        f"(<= {AIM_CPU}x: {verdict(cpu_ratio, AIM_CPU)})"
    )


if __name__ == "__main__":
    main()
