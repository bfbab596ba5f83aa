"""``cdsgen lint`` on a corpus of broken sources: each message and its exact position.

Every file in ``lint_cases/`` is added to a small valid spec (``fixtures/minispec``); its
``# expect:`` lines are the complete list of errors lint must report for it, as
``line:col: message`` (the path is the case file's).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CASES = sorted((HERE / "lint_cases").glob("*.yaml"))


def _expected(case: Path) -> list[str]:
    return [
        line.split("expect:", 1)[1].strip()
        for line in case.read_text().splitlines()
        if line.startswith("# expect:")
    ]


def _run_lint(tmp_path: Path, case: Path | None) -> subprocess.CompletedProcess:
    shutil.copytree(HERE / "fixtures/minispec", tmp_path / "spec")
    if case is not None:
        shutil.copy(case, tmp_path / "spec/cds-test-01/zz-case.yaml")
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", "lint"], cwd=tmp_path, capture_output=True, text=True
    )


def test_fixture_itself_is_clean(tmp_path):
    proc = _run_lint(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_corpus_covers_at_least_fifteen_kinds_of_mistake():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_lint_reports_each_problem_once_with_its_position(case, tmp_path):
    proc = _run_lint(tmp_path, case)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    prefix = "spec/cds-test-01/zz-case.yaml:"
    got = [line[len(prefix) :] for line in proc.stderr.splitlines() if line.startswith(prefix)]
    others = [
        line
        for line in proc.stderr.splitlines()
        if not line.startswith(prefix) and not re.match(r"\d+ error\(s\), \d+ warning", line)
    ]
    assert got == _expected(case)
    assert others == [], "problems reported in other files: " + "\n".join(others)
