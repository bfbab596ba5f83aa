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

Aims (issue 18): cdsgen <= 1.2x the wall time and <= 1.8x the CPU time of the CLI.
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
    result = run_process([str(BIN / "cdsgen"), "generate", "--check"], cwd=project)
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
    result = run_process([*argv, *CODEGEN_OPTIONS], cwd=workdir)
    require(result.returncode == 0, f"datamodel-codegen exited {result.returncode}")
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    missing = [n for n in names if not re.search(rf"^{n}\b|^class {n}\b", text, re.MULTILINE)]
    require(not missing, f"datamodel-codegen wrote no {missing[:5]}")
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cdsgen-bench-") as tmp:
        project, workdir = Path(tmp, "project"), Path(tmp, "codegen")
        workdir.mkdir()
        copy_project(project)
        baseline = run_process([str(BIN / "cdsgen"), "generate", "--check"], cwd=project)
        require(baseline.returncode == 0, f"the copy is not up to date:\n{baseline.stdout}")
        api = codegen_input(build_openapi(lint(project / "spec").spec, None))
        source = workdir / "openapi.json"
        source.write_text(json.dumps(api, indent=1), encoding="utf-8")
        names = sorted(api["components"]["schemas"])

        run_cdsgen(project, 0)  # warm up: file cache, compiled templates
        run_codegen(workdir, source, names)
        ours: list[ProcessRun] = []
        theirs: list[ProcessRun] = []
        for run in range(1, RUNS + 1):
            if run % 2:
                ours.append(run_cdsgen(project, run))
                theirs.append(run_codegen(workdir, source, names))
            else:
                theirs.append(run_codegen(workdir, source, names))
                ours.append(run_cdsgen(project, run))

    wall_ratio = median([a.wall / b.wall for a, b in zip(ours, theirs, strict=True)])
    cpu_ratio = median([a.cpu / b.cpu for a, b in zip(ours, theirs, strict=True)])
    print(f"{RUNS} interleaved pairs, medians; {len(names)} component schemas; {load_note()}")
    print_table(
        ["process", "wall", "CPU"],
        [
            ["datamodel-codegen CLI alone", f"{median([r.wall for r in theirs]):.2f}s",
             f"{median([r.cpu for r in theirs]):.2f}s"],
            ["cdsgen generate --check (one edit)", f"{median([r.wall for r in ours]):.2f}s",
             f"{median([r.cpu for r in ours]):.2f}s"],
        ],
    )  # fmt: skip
    print(
        f"ratio cdsgen / CLI (median of pairs): wall {wall_ratio:.2f}x "
        f"(aim <= {AIM_WALL}x: {verdict(wall_ratio, AIM_WALL)}), CPU {cpu_ratio:.2f}x "
        f"(aim <= {AIM_CPU}x: {verdict(cpu_ratio, AIM_CPU)})"
    )


if __name__ == "__main__":
    main()
