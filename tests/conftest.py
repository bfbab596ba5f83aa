"""Shared fixtures: the linted spec model and the generated OpenAPI, loaded once per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
