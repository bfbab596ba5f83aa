"""Shared fixtures: the linted spec model and the generated OpenAPI, loaded once per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption(
        "--reference",
        metavar="DIR",
        help="folder of the published CDS texts (cds-wg1-01.md, …) for the few tests that "
        "read them; same as CDS_REFERENCE_DIR (default: ../shared/reference if present)",
    )


def pytest_configure(config):
    given = config.getoption("--reference")
    if given:
        os.environ["CDS_REFERENCE_DIR"] = str(Path(given).resolve())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def lint_result():
    from cdsgen.lint import lint

    return lint(ROOT / "spec")


@pytest.fixture(scope="session")
def spec(lint_result):
    return lint_result.spec


@pytest.fixture(scope="session")
def openapi() -> dict:
    return json.loads((ROOT / "generated/openapi/cds.openapi.json").read_text(encoding="utf-8"))


def build_site(config: Path, site_dir: Path, *, strict: bool = True) -> subprocess.CompletedProcess:
    """``mkdocs build`` of ``config`` into ``site_dir``, as ``make site`` runs it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--config-file",
        str(config),
        "--site-dir",
        str(site_dir),
    ]
    return subprocess.run(
        cmd + (["--strict"] if strict else []), capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site built from the committed sources (once per test worker)."""
    site_dir = tmp_path_factory.mktemp("site") / "build"
    proc = build_site(ROOT / "mkdocs.yml", site_dir)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return site_dir
