"""Releases: document versions in the artefacts, and the changelog built from release tags."""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cdsgen.emit.changelog import Changelog, render_changelog
from cdsgen.emit.models import emit_versions
from cdsgen.view import combined_version, document_versions
from reference_facts import facts

ROOT = Path(__file__).resolve().parents[1]
MINISPEC = ROOT / "tests/fixtures/minispec"
HOOK = ROOT / "tools/cdsgen/mkdocs_changelog.py"


# -- versions ----------------------------------------------------------------------------------
def test_models_package_carries_the_document_versions(spec, openapi, root):
    import cds_models

    assert cds_models.__version__ == openapi["info"]["version"]
    assert list(cds_models.CDS_DOCUMENTS) == list(spec.documents)
    for doc_id, entry in cds_models.CDS_DOCUMENTS.items():
        doc = spec.documents[doc_id]
        assert isinstance(entry, cds_models.DocumentVersion)
        assert (entry.code, entry.title, entry.version, entry.status, entry.url) == (
            doc.code,
            doc.title,
            doc.version,
            doc.status,
            doc.published_url,
        )
        per_document = json.loads((root / f"generated/openapi/{doc_id}.openapi.json").read_text())
        assert per_document["info"]["version"] == entry.version


#: The metadata field by which a Server states which version of each document it implements.
WIRE_VERSION_FIELDS = {
    "cds-wg1-01": "cds_metadata_version",  # §3.2
    "cds-wg1-02": "cds_oauth_version",  # §3.2
    "cds-wg3-01": "cds_customerdata_version",  # §5
}


@pytest.mark.parametrize("doc_id", sorted(WIRE_VERSION_FIELDS))
def test_status_and_wire_version_match_the_published_text(spec, root, doc_id):
    import cds_models

    published = facts(doc_id)  # the committed snapshot of the published text
    assert (spec.documents[doc_id].status == "draft") == published.draft
    assert cds_models.CDS_DOCUMENTS[doc_id].status == spec.documents[doc_id].status
    # "… which for this version of the specification is `v1`"
    field = WIRE_VERSION_FIELDS[doc_id]
    assert field in published.wire_versions, field
    assert spec.documents[doc_id].wire_version == published.wire_versions[field]
    assert cds_models.CDS_DOCUMENTS[doc_id].wire_version == published.wire_versions[field]


def test_combined_version_names_each_document_when_they_differ(spec):
    assert combined_version(spec) == spec.documents["cds-wg1-01"].version
    docs = dict(spec.documents)
    docs["cds-wg3-01"] = dataclasses.replace(docs["cds-wg3-01"], version="1.1.0")
    mixed = dataclasses.replace(spec, documents=docs)
    expected = "+".join(f"{d}@{docs[d].version}" for d in docs)
    assert combined_version(mixed) == expected
    assert [d.version for d in document_versions(mixed)][-1] == "1.1.0"


def test_versions_module_escapes_document_text(spec, tmp_path):
    nasty = 'Say "hi" \\ {{ x }} """ \'\'\' \n# not a comment'
    docs = dict(spec.documents)
    docs["cds-wg1-01"] = dataclasses.replace(docs["cds-wg1-01"], title=nasty, wire_version=None)
    ((path, code),) = emit_versions(dataclasses.replace(spec, documents=docs)).items()
    assert path == "generated/python/cds_models/_versions.py"
    module_path = tmp_path / "versions_check.py"
    module_path.write_text(code)
    loaded = importlib.util.spec_from_file_location("versions_check", module_path)
    module = importlib.util.module_from_spec(loaded)
    sys.modules[loaded.name] = module
    try:
        loaded.loader.exec_module(module)
    finally:
        del sys.modules[loaded.name]
    assert module.CDS_DOCUMENTS["cds-wg1-01"].title == nasty
    assert module.CDS_DOCUMENTS["cds-wg1-01"].wire_version is None


def test_version_label_for_pages(spec):
    first = document_versions(spec)[0]
    assert (
        first.label
        == f"version {first.version} · {first.status} · wire format {first.wire_version}"
    )


# -- the changelog -----------------------------------------------------------------------------
def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=cdsgen tests", "-c", "user.email=tests@example.com"]
    proc = subprocess.run(
        ["git", "-C", str(repo), *identity, *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


def edit_things(repo: Path, edit) -> None:
    path = repo / "spec/cds-test-01/things.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def cdsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture()
def history(tmp_path) -> Path:
    """A repository with two releases (a lightweight and an annotated tag), a tag that is not
    a release, and an uncommitted change in the working tree."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(MINISPEC, repo / "spec")
    git(repo, "init", "-q")
    git(repo, "add", "spec")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "tag", "spec-v0.1.0")
    edit_things(repo, lambda d: d["objects"]["Thing"]["fields"]["label"].update(required=True))
    git(repo, "commit", "-q", "-am", "label required")
    git(repo, "tag", "-a", "spec-v0.2.0", "-m", "Labels everywhere")
    git(repo, "tag", "v9-not-a-release")
    edit_things(repo, lambda d: d["enums"]["ThingKind"]["values"].update(tiny="A tiny thing."))
    return repo


def test_changelog_lists_releases_newest_first(history):
    proc = cdsgen("changelog", "--unreleased", cwd=history)
    assert proc.returncode == 0, proc.stderr
    page = proc.stdout
    headings = re.findall(r"^## (.+)$", page, re.MULTILINE)
    assert [h.split(" (")[0] for h in headings] == [
        "Unreleased",
        "spec-v0.2.0",
        "spec-v0.1.0",
    ]
    unreleased, second, first = re.split(r"^## ", page, flags=re.MULTILINE)[1:]
    assert "ThingKind.tiny" in unreleased
    assert "Labels everywhere" in second
    assert "<code>Thing.label</code>: OPTIONAL → REQUIRED — *breaking for Servers*" in second
    assert "| CDS-TEST-01 Lint Fixture | 0&#46;0.1 | draft |" in second
    assert "First release." in first
    assert "v9" not in page


def test_changelog_without_unreleased_is_the_same_for_every_later_commit(history):
    before = cdsgen("changelog", cwd=history).stdout
    git(history, "commit", "-q", "-am", "after the release")
    assert cdsgen("changelog", cwd=history).stdout == before
    assert "Unreleased" not in before


def test_changelog_without_releases_or_git(history, tmp_path):
    for tag in ("spec-v0.1.0", "spec-v0.2.0"):
        git(history, "tag", "-d", tag)
    page = cdsgen("changelog", "--unreleased", cwd=history).stdout
    assert "No release of the source has been tagged yet." in page
    assert "## " not in page

    plain = tmp_path / "plain"
    shutil.copytree(MINISPEC, plain / "spec")
    page = cdsgen("changelog", cwd=plain).stdout
    assert "not available" in page


def test_changelog_escapes_text_from_the_source(history):
    problem = "<script>alert(1)</script> *bold* [link](x) {{ x }}"
    edit_things(
        history,
        lambda d: d.update(
            errata=[
                {
                    "id": "nasty",
                    "anchor": "things",
                    "target": {"object": "Thing"},
                    "problem": problem,
                    "resolution": "Kept.",
                }
            ]
        ),
    )
    git(history, "commit", "-q", "-am", "erratum")
    git(history, "tag", "spec-v0.3.0")
    page = cdsgen("changelog", cwd=history).stdout
    assert "<script>" not in page and "*bold*" not in page and "](x)" not in page
    assert "&#60;script&#62;" in page


def test_render_is_pure():
    log = Changelog("spec-v*", available=True)
    assert render_changelog(log) == render_changelog(log)
    assert "No release of the source has been tagged yet." in render_changelog(log)


def test_mkdocs_hook_adds_the_changelog_page(history):
    (history / "docs").mkdir()
    (history / "docs/index.md").write_text("# Home\n")
    (history / "mkdocs.yml").write_text(
        "site_name: test\n"
        "docs_dir: docs\n"
        f"hooks: [{json.dumps(str(HOOK))}]\n"
        "nav: [{Home: index.md}, {Changelog: changelog.md}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", "out"],
        cwd=history,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    page = html.unescape((history / "out/changelog/index.html").read_text(encoding="utf-8"))
    assert '<h2 id="spec-v020-' in page
    assert "spec-v0.2.0 (" in page
    assert "<code>Thing.label</code>: OPTIONAL → REQUIRED" in page
    assert "breaking for Servers" in page
