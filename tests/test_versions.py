"""Two versions of the source: the released texts and the editor's drafts (``spec/<id>/dev/``).

Covers loading a version, what the loader refuses, ``when_version``, the references between
documents that lint resolves in the version they name, ``cdsgen diff --release-vs-draft`` on
the real drafts, cutting a release, and markdown escaping of the generated pages.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cdsgen.diagnostics import Diagnostics
from cdsgen.diff import BREAKING, compare
from cdsgen.drafts import cut_release
from cdsgen.lint import lint, lint_version
from cdsgen.loader import DRAFT, RELEASED, draft_documents, load_spec, load_spec_version

ROOT = Path(__file__).resolve().parents[1]


def cdsgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture
def minispec(tmp_path) -> Path:
    """The lint fixture with a draft: the draft adds a REQUIRED field and renames a value."""
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "tests/fixtures/minispec", spec)
    doc = spec / "cds-test-01"
    draft = doc / DRAFT
    draft.mkdir()
    for f in doc.glob("*.yaml"):
        shutil.copy(f, draft / f.name)
    text = (draft / "document.yaml").read_text()
    text = text.replace("version: 0.0.1", "version: 0.1.0-dev")
    text = text.replace("cds-test-01/\n", "cds-test-01/dev\n")
    (draft / "document.yaml").write_text(text)
    return spec


def test_the_repository_has_drafts_of_wg1_01_and_wg1_02():
    assert draft_documents(ROOT / "spec") == ["cds-wg1-01", "cds-wg1-02"]


def test_each_version_loads_its_own_files(minispec):
    diags = Diagnostics()
    released = load_spec_version(minispec, RELEASED, diags)
    draft = load_spec_version(minispec, DRAFT, diags)
    assert not diags.errors, [str(d) for d in diags.errors]
    assert released.documents["cds-test-01"].version == "0.0.1"
    assert released.documents["cds-test-01"].edition == RELEASED
    assert draft.documents["cds-test-01"].version == "0.1.0-dev"
    assert draft.documents["cds-test-01"].edition == DRAFT
    assert draft.documents["cds-test-01"].pos.path.endswith("cds-test-01/dev/document.yaml")


def test_a_folder_other_than_dev_inside_a_document_is_an_error(minispec):
    (minispec / "cds-test-01" / "old").mkdir()
    diags = Diagnostics()
    load_spec(minispec, diags)
    assert any(
        d.rule == "unexpected-file" and d.pos.path.endswith("cds-test-01/old") for d in diags.errors
    ), diags.errors


def test_a_draft_folder_needs_its_document(minispec):
    (minispec / "cds-test-01" / DRAFT / "document.yaml").unlink()
    diags = Diagnostics()
    load_spec(minispec, diags)
    assert any("has no document.yaml" in d.message for d in diags.errors)


def test_when_version_keeps_an_erratum_in_one_version_only(minispec):
    things = minispec / "cds-test-01" / "things.yaml"
    things.write_text(
        things.read_text() + "\nerrata:\n  - id: thing-typo\n    anchor: things\n"
        "    target: {object: Thing}\n    problem: A typo.\n    resolution: Kept.\n"
        "    when_version: {cds-test-01: dev}\n"
    )
    diags = Diagnostics()
    released = load_spec_version(minispec, RELEASED, diags)
    assert not diags.errors, [str(d) for d in diags.errors]
    assert "thing-typo" not in {e.id for e in released.errata}
    unknown = things.read_text().replace("{cds-test-01: dev}", "{cds-nope-99: dev}")
    things.write_text(unknown)
    diags = Diagnostics()
    load_spec_version(minispec, RELEASED, diags)
    assert any("unknown 'cds-nope-99'" in d.message for d in diags.errors)


def test_lint_resolves_references_in_the_version_they_name(minispec):
    doc = minispec / "cds-test-01" / "document.yaml"
    text = doc.read_text().replace(
        "  anchors:\n",
        "  anchors:\n"
        '    ref-self-kinds: {label: "Kinds", section: things,'
        ' links_to: "cds-test-01@latest#thing-kinds"}\n'
        '    ref-self-gone: {label: "Gone", section: things,'
        ' links_to: "cds-test-01@dev#no-such-section"}\n',
    )
    doc.write_text(text)
    result = lint(minispec)
    errors = [str(d) for d in result.diagnostics.errors]
    assert len(errors) == 1, errors
    assert "ref-self-gone" in errors[0] and "#no-such-section" in errors[0]
    assert "document.yaml:" in errors[0]
    things = minispec / "cds-test-01" / "things.yaml"
    things.write_text(
        things.read_text() + "\nerrata:\n  - id: gone-link\n    anchor: things\n"
        "    target: {link: ref-self-gone}\n    problem: Points nowhere.\n    resolution: Kept.\n"
    )
    assert lint(minispec).ok


def test_the_wg3_01_references_only_the_wg1_02_draft_has_are_recorded(spec):
    ids = {e.id for e in spec.errata}
    assert "wg3-01-choice-object-reference-names-release" in ids
    wg3 = spec.documents["cds-wg3-01"]
    assert wg3.links_to["ref-cds-wg1-02-choice-object"] == "cds-wg1-02@latest#choice-format"
    released = spec.documents["cds-wg1-02"]
    assert "choice-format" not in released.all_anchors()
    draft = lint_version(ROOT / "spec", DRAFT)
    assert draft.ok, [str(d) for d in draft.diagnostics.errors]
    assert "choice-format" in draft.spec.documents["cds-wg1-02"].all_anchors()


def test_errata_the_draft_resolves_are_gone_from_the_draft_version(spec):
    draft = lint_version(ROOT / "spec", DRAFT).spec
    released_ids = {e.id for e in spec.errata}
    draft_ids = {e.id for e in draft.errata}
    for resolved in (
        "wg1-01-iso3166-reference-title",
        "wg1-02-grant-admin-client-id-for-types",
        "wg3-01-format-choice-list-or-null-undefined",
        "wg3-01-client-admin-token-grant-ids",
    ):
        assert resolved in released_ids and resolved not in draft_ids, resolved


def test_release_vs_draft_of_wg1_01():
    proc = cdsgen("diff", "--release-vs-draft", "cds-wg1-01", "--format", "json")
    assert proc.returncode == 1, proc.stderr  # the draft breaks Servers
    report = json.loads(proc.stdout)
    changes = {(c["kind"], c["subject"]): c for c in report["changes"]}
    added = changes[("field-added", "CoverageEntry.entity_number")]
    assert (added["servers"], added["clients"], added["anchor"]) == (
        BREAKING,
        "compatible",
        "coverage-entry-format",
    )
    renamed = changes[("enum-value-renamed", "InfrastructureType.distribution_system_operator")]
    assert "distribution_service_operator" in renamed["message"]
    assert renamed["clients"] == renamed["servers"] == BREAKING
    assert ("filter-added", "listCoverage?entity_numbers") in changes
    assert ("erratum-resolved", "erratum wg1-01-iso3166-reference-title") in changes
    assert ("example-changed", "example wg1-01-coverage") in changes
    assert {d["id"] for d in report["documents"]} == {"cds-wg1-01"}


def test_release_vs_draft_of_wg1_02_names_sections_objects_and_dependents_errata():
    proc = cdsgen("diff", "--release-vs-draft", "cds-wg1-02")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "- section choice-format (#choice-format): §3.10 Authorization Details Field" in out
    assert "- section grant-token-responses (#grant-token-responses): new §8.4" in out
    assert "Listing Grants: §8.4 → §8.5" in out
    assert "- Choice (#choice-format): object renamed from `AuthorizationDetailsFieldChoice`" in out
    assert "RegistrationFieldFormats.choice_list_or_null" in out
    assert "TokenResponse.cds_grant_ids (#grant-token-responses)" in out
    assert "erratum wg3-01-client-admin-token-grant-ids" in out  # resolved for WG3-01
    assert "erratum wg1-02-grants-modify-bad-response (#grants-modify): resolved" in out
    same = cdsgen("diff", "spec/cds-wg1-02", "spec/cds-wg1-02/dev")
    assert same.stdout.splitlines()[1:] == out.splitlines()[1:]


def test_release_vs_draft_needs_a_draft():
    proc = cdsgen("diff", "--release-vs-draft", "cds-wg3-01")
    assert proc.returncode == 2
    assert "has no draft" in proc.stderr and "cds-wg1-01, cds-wg1-02" in proc.stderr


def test_cutting_a_release_makes_the_draft_the_release(minispec):
    diags = Diagnostics()
    draft_before = load_spec_version(minispec, DRAFT, diags)
    done = cut_release(minispec, "cds-test-01", "0.1.0")
    assert any("removed" in line and "dev" in line for line in done)
    assert not (minispec / "cds-test-01" / DRAFT).exists()
    released = load_spec_version(minispec, RELEASED, diags)
    assert not diags.errors, [str(d) for d in diags.errors]
    doc = released.documents["cds-test-01"]
    assert (doc.version, doc.edition) == ("0.1.0", RELEASED)
    assert doc.published_url == "https://example.com/specs/cds-test-01/latest"
    report = compare(draft_before, released)
    assert [c.kind for c in report.changes] == ["document-version", "document-published-url"]
    proc = cdsgen("--spec", str(minispec), "release", "cds-test-01", "0.2.0")
    assert proc.returncode == 2 and "has no draft" in proc.stderr
    # and a new draft starts from the release
    proc = cdsgen("--spec", str(minispec), "draft", "cds-test-01", "0.2.0-dev")
    assert proc.returncode == 0, proc.stderr
    diags = Diagnostics()
    draft = load_spec_version(minispec, DRAFT, diags).documents["cds-test-01"]
    assert not diags.errors, [str(d) for d in diags.errors]
    assert (draft.version, draft.published_url) == (
        "0.2.0-dev",
        "https://example.com/specs/cds-test-01/dev",
    )
    assert (
        "$schema=../../../generated/"
        in (minispec / "cds-test-01" / DRAFT / "document.yaml").read_text()
        or "$schema" not in (minispec / "cds-test-01" / "document.yaml").read_text()
    )


def test_generated_markdown_escapes_only_what_markdown_needs():
    from cdsgen.emit.site import md_text

    assert md_text("Server-assigned cds_grant_ids") == "Server-assigned cds_grant_ids"
    assert md_text("- not a list") == "&#45; not a list"
    assert md_text("_emphasis_ <b> | [x]") == "&#95;emphasis&#95; &#60;b&#62; &#124; &#91;x&#93;"
    page = (ROOT / "site/spec/cds-wg1-02.md").read_text(encoding="utf-8")
    assert "&#45;" not in page.replace("| &#45;", "")  # only a leading dash would need it
    assert not re.search(r"[a-z]&#95;[a-z]", page)  # names stay greppable


def test_the_draft_site_shows_resolved_errata_as_resolved():
    errata = (ROOT / "site/spec/dev/errata.md").read_text(encoding="utf-8")
    resolved = errata.split("## Resolved by the editor's drafts", 1)[1]
    for erratum in ("wg1-01-iso3166-reference-title", "wg3-01-format-choice-or-null-undefined"):
        assert f"[<code>{erratum}</code>](../errata.md#{erratum})" in resolved
    active = errata.split("## Resolved by the editor's drafts", 1)[0]
    assert 'id="wg1-01-iso3166-reference-title"' not in active
    assert 'id="wg3-01-choice-object-reference-names-release"' in active
    changes = (ROOT / "site/spec/dev/changes.md").read_text(encoding="utf-8")
    assert "### Errata resolved by the draft (2)" in changes  # WG1-01
