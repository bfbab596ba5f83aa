"""`cdsgen generate`: outputs in sync, deterministic, atomic, untouched by a broken source."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cdsgen.generate import TREES, build_outputs


def _cdsgen(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_committed_outputs_are_up_to_date(root):
    proc = _cdsgen("generate", "--check", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generation_is_deterministic_across_hash_seeds(root, lint_result, tmp_path):
    first = build_outputs(lint_result.spec, lint_result.example_problems)
    shutil.copytree(root / "spec", tmp_path / "spec")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = _cdsgen("generate", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    for path, text in first.items():
        assert (tmp_path / path).read_text(encoding="utf-8") == text, path


@pytest.fixture()
def project_copy(root, tmp_path):
    shutil.copytree(root / "spec", tmp_path / "spec")
    shutil.copytree(
        root / "generated", tmp_path / "generated", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_check_names_stale_files_and_writes_nothing(project_copy):
    target = project_copy / "generated/openapi/cds.openapi.json"
    target.write_text("{}\n")
    stray = project_copy / "generated/openapi/old.json"
    stray.write_text("{}\n")
    before = _digest(project_copy / "generated")
    proc = _cdsgen("generate", "--check", cwd=project_copy)
    assert proc.returncode == 1
    assert "stale: generated/openapi/cds.openapi.json" in proc.stderr
    assert "not generated any more: generated/openapi/old.json" in proc.stderr
    assert _digest(project_copy / "generated") == before


def test_broken_source_reports_position_and_leaves_outputs_untouched(project_copy):
    before = _digest(project_copy / "generated")
    src = project_copy / "spec/cds-wg1-01/coverage.yaml"
    text = src.read_text()
    src.write_text(text.replace("type: CoverageType", "type: CoverageKind", 1))
    line = next(i for i, ln in enumerate(src.read_text().splitlines(), 1) if "CoverageKind" in ln)
    proc = _cdsgen("generate", cwd=project_copy)
    assert proc.returncode == 1
    assert "nothing was written" in proc.stderr
    assert (
        f"spec/cds-wg1-01/coverage.yaml:{line - 1}:7: unknown-type: unknown type 'CoverageKind'"
        in proc.stderr
    )
    assert _digest(project_copy / "generated") == before


def test_write_replaces_each_tree_atomically(project_copy):
    """A regenerated tree drops files no emitter produces and leaves no temporary folders."""
    stray = project_copy / "generated/jsonschema/Stray.schema.json"
    stray.write_text("{}")
    proc = _cdsgen("generate", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    assert not stray.exists()
    leftovers = [
        p.name
        for t in TREES
        for p in (project_copy / t).parent.iterdir()
        if ".tmp-" in p.name or ".old-" in p.name or ".cdsgen-" in p.name
    ]
    assert leftovers == []
