"""Lint: every object, enumeration and listing of the published facts has a source item."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import reference_facts as rf
from cdsgen.diagnostics import Diagnostics
from cdsgen.published_coverage import check_published_coverage, uncovered_sections

MINISPEC = Path(__file__).parent / "fixtures/minispec"


def lint(spec_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", "--spec", str(spec_dir), "lint"],
        capture_output=True,
        text=True,
    )


def test_the_source_covers_every_published_section(spec, lint_result, root):
    assert lint_result.ok
    for document in rf.DOCUMENTS:
        assert uncovered_sections(spec, document, rf.facts(document)) == []
    diags = Diagnostics()
    check_published_coverage(spec, diags, root / "spec")
    assert diags.items == []


def test_an_emptied_topic_file_fails_lint_naming_each_section(root, tmp_path):
    copy = tmp_path / "spec"
    shutil.copytree(root / "spec", copy)
    (copy / "cds-wg3-01/meter-devices.yaml").write_text("{}\n", encoding="utf-8")
    proc = lint(copy)
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if "has no source" in line]
    assert all(line.startswith("spec/cds-wg3-01/document.yaml:") for line in lines), lines
    joined = "\n".join(lines)
    for expected in (
        "object (field section) §10.4.1 'Meter Device Object Format' (#meter-device-format)",
        "enumeration §10.4.2 'Meter Types' (#meter-types)",
        "object (field section) §10.4.3 'Meter App Object Format' (#meter-app-format)",
        "enumeration §10.4.4 'Meter App Types' (#meter-app-types)",
        "listing §10.4.5 'Listing Meter Devices' (#meter-device-list)",
    ):
        assert expected in joined, joined
    assert len(lines) == 6  # the five above and the listing object at #meter-device-list


def test_each_kind_of_missing_source_is_reported(spec):
    """Taking one item out of the loaded model (no other error follows) is enough."""
    facts = rf.facts("cds-wg1-01")
    objects = {n: o for n, o in spec.objects.items() if o.anchor != "coverage-entry-format"}
    enums = {n: e for n, e in spec.enums.items() if e.anchor != "commodity-types"}
    endpoints = {n: e for n, e in spec.endpoints.items() if n != "listCoverage"}
    cut = dataclasses.replace(spec, objects=objects, enums=enums, endpoints=endpoints)
    assert uncovered_sections(cut, "cds-wg1-01", facts, "snapshot.json") == [
        "published listing §4.1 'Coverage Listing Format' (#coverage-listing-format) has no "
        "source: no listing endpoint is anchored there (published facts: snapshot.json)",
        "published listing §4.2 'Coverage Listing Filters' (#coverage-listing-filters) has no "
        "source: no listing endpoint is anchored there (published facts: snapshot.json)",
        "published object (field section) §4.3 'Coverage Entry Format' (#coverage-entry-format) "
        "has no source: no object or extension is anchored there "
        "(published facts: snapshot.json)",
        "published enumeration §4.7 'Commodity Types' (#commodity-types) has no source: "
        "no enum or extension is anchored there (published facts: snapshot.json)",
    ]


def test_a_document_without_a_snapshot_is_not_checked(tmp_path):
    assert not list(MINISPEC.glob("*/published-facts.json"))
    proc = lint(MINISPEC)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "has no source" not in proc.stdout


def test_a_broken_snapshot_is_a_lint_error_at_its_line(root, tmp_path):
    copy = tmp_path / "spec"
    shutil.copytree(root / "spec", copy)
    (copy / "cds-wg1-01/published-facts.json").write_text('{\n  "format": 1,\n', "utf-8")
    proc = lint(copy)
    assert proc.returncode == 1
    assert "spec/cds-wg1-01/published-facts.json:3:1: not JSON:" in proc.stdout
    assert "Traceback" not in proc.stderr
