"""The published-facts extractor (``cdsgen facts``) and the committed snapshots it makes.

The fact tests compare the source with ``spec/<doc-id>/published-facts.json``; these tests
check that the extractor reads a published text correctly, that a snapshot holds facts and
no prose, and (when the published texts are at hand) that every committed snapshot is fresh.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import reference_facts as rf
from cdsgen.loader import source_files
from cdsgen.published import (
    FactsError,
    dumps,
    extract,
    load_snapshot,
    stale_diff,
)

FIXTURE = Path(__file__).parent / "fixtures/published/cds-test-01.md"


@pytest.fixture(scope="module")
def gadgets():
    return extract(FIXTURE)


def cdsgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args], capture_output=True, text=True, cwd=cwd
    )


# -- the extractor, on a small published-style text -------------------------------------------
def test_fields_with_type_marker_and_nullability(gadgets):
    fields = {f.name: f for f in gadgets.section("gadget-format").fields}
    assert list(fields) == ["gadget_version", "id", "kinds", "parent", "weight", "created"]
    assert (fields["kinds"].signature, fields["kinds"].required) == ("array<GadgetKind>", True)
    assert fields["kinds"].type_text == "_Array[[GadgetKind](#gadget-kinds)]_"
    assert (fields["parent"].required, fields["parent"].nullable) == (False, True)
    assert (fields["parent"].signature, fields["id"].nullable) == ("string", False)
    assert fields["weight"].required is None  # no marker: the fact tests demand an erratum
    assert fields["created"].line == 22


def test_enumerated_values_and_the_fields_a_value_adds(gadgets):
    kinds = gadgets.section("gadget-kinds")
    assert kinds.values == ["widget", "sprocket"]
    assert [(f.name, f.signature, f.required, f.depth) for f in kinds.value_fields] == [
        ("teeth", "integer", True, 4)
    ]
    assert kinds.fields == []


def test_filters_with_search_fields_and_ordering(gadgets):
    listing = gadgets.section("gadget-list")
    assert listing.filters == {"ids": [], "q": ["id", "parent"]}
    assert listing.ordering == [("created", "descending"), ("id", "ascending")]


def test_scopes_details_fields_links_status_and_wire_version(gadgets):
    assert [(s.anchor, s.type) for s in gadgets.scopes] == [("scope-gadgets", "cds_gadgets")]
    assert [(d.anchor, d.id, d.formats) for d in gadgets.authorization_details_fields] == [
        ("auth-details-gadget-count", "gadget_count", ["number", "number_or_null"])
    ]
    assert gadgets.unresolved_links == {
        "decimal": 21,
        "datetime": 22,
        "no-such-anchor": 22,
        "integer": 28,
    }
    assert gadgets.draft is True
    assert gadgets.wire_versions == {"gadget_version": "v7"}
    assert gadgets.title == "CDS-TEST-01 - Gadget Registry"


def test_outline_numbers_titles_and_anchors(gadgets):
    flat = [(s.number, s.title, s.anchor) for s in gadgets.outline.flat_sections()]
    assert flat[3] == ("2.1", "Gadget Object Format", "gadget-format")
    assert gadgets.outline.anchors == {"string": "string"}
    assert gadgets.outline.anchor_sections == {"string": "terminology"}


def test_example_bodies_verbatim_and_diagrams_left_out(gadgets):
    (example,) = gadgets.examples
    assert (example.section, example.line, example.info) == ("examples", 54, "")
    assert example.text.endswith('{"gadgets": [],  "next": null}')
    assert example.text.startswith("==Request==\nGET /gadgets HTTP/1.1\n\n==Response==")


def test_snapshot_round_trips_and_holds_no_prose(gadgets):
    text = dumps(gadgets)
    assert dumps(extract(FIXTURE)) == text  # deterministic
    assert "prose" not in text
    assert "Characters, as everyone knows them" not in text
    assert "How many" not in text and "A toothed one" not in text


def test_a_text_without_permalinked_sections_is_refused(tmp_path):
    plain = tmp_path / "notes.md"
    plain.write_text("# Notes\n\n## Just a heading\n\ntext\n", encoding="utf-8")
    with pytest.raises(FactsError, match=r"notes\.md:1:1: no section headings"):
        extract(plain)


def test_a_broken_snapshot_is_a_clear_error(tmp_path):
    broken = tmp_path / "published-facts.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(FactsError, match=r"published-facts\.json:1:2: not JSON: Expecting"):
        load_snapshot(broken)
    broken.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(FactsError, match="not a published-facts snapshot of format 1"):
        load_snapshot(broken)


# -- the command -------------------------------------------------------------------------------
def test_facts_command_writes_checks_and_shows_a_short_diff(tmp_path):
    out = tmp_path / "published-facts.json"
    proc = cdsgen("facts", str(FIXTURE), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["document"] == "cds-test-01"
    proc = cdsgen("facts", str(FIXTURE), "-o", str(out), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "is up to date" in proc.stderr
    out.write_text(out.read_text(encoding="utf-8").replace('"teeth"', '"fangs"'))
    proc = cdsgen("facts", str(FIXTURE), "-o", str(out), "--check")
    assert proc.returncode == 1
    assert '-     "name": "fangs",' in proc.stdout and '+     "name": "teeth",' in proc.stdout
    assert "is stale: run `cdsgen facts" in proc.stderr
    proc = cdsgen("facts", str(FIXTURE), "--document", "cds-test-01-dev")
    assert json.loads(proc.stdout)["document"] == "cds-test-01-dev"


def test_facts_command_on_a_folder_refreshes_every_document_folder(tmp_path):
    texts, spec = tmp_path / "reference", tmp_path / "spec"
    texts.mkdir()
    (texts / "cds-test-01.md").write_text(FIXTURE.read_text(encoding="utf-8"), "utf-8")
    (spec / "cds-test-01").mkdir(parents=True)
    (spec / "cds-test-01/document.yaml").write_text("document: {}\n", encoding="utf-8")
    (spec / "not-a-document").mkdir()
    proc = cdsgen("--spec", str(spec), "facts", str(texts))
    assert proc.returncode == 0, proc.stderr
    snapshot = spec / "cds-test-01/published-facts.json"
    assert load_snapshot(snapshot).document == "cds-test-01"
    assert not (spec / "not-a-document/published-facts.json").exists()
    assert cdsgen("--spec", str(spec), "facts", str(texts), "--check").returncode == 0
    (texts / "cds-test-01.md").write_text(
        FIXTURE.read_text(encoding="utf-8").replace("`ids`", "`gadget_ids`"), "utf-8"
    )
    proc = cdsgen("--spec", str(spec), "facts", str(texts), "--check")
    assert proc.returncode == 1
    assert '+    "gadget_ids": [],' in proc.stdout, proc.stdout
    proc = cdsgen("--spec", str(spec), "facts", str(texts), "-o", str(snapshot))
    assert proc.returncode == 2 and "takes no -o/--document" in proc.stderr


def test_facts_command_on_bad_input_says_what_is_wrong(tmp_path):
    proc = cdsgen("facts", str(tmp_path / "missing.md"))
    assert proc.returncode == 2
    assert "missing.md: cannot read the published text" in proc.stderr
    assert "Traceback" not in proc.stderr
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\xff\xfe\x00junk")
    proc = cdsgen("facts", str(binary))
    assert proc.returncode == 2 and "binary.md: not UTF-8 text" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stale_diff_is_short():
    old = "\n".join(str(i) for i in range(200))
    new = "\n".join(str(i * 2) for i in range(200))
    diff = stale_diff(old, new, "x.json", limit=10)
    assert len(diff.splitlines()) == 11 and diff.endswith("more diff line(s)")
    assert stale_diff(old, old, "x.json") == ""


# -- the committed snapshots -------------------------------------------------------------------
def _strings(value, path=""):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}/{i}")


@pytest.mark.parametrize("document", rf.DOCUMENTS)
def test_committed_snapshot_holds_facts_not_prose(root, document):
    """Outside the verbatim example bodies, every string is a name, type, title or label:
    a sentence of the published text would be a run of many words."""
    path = root / "spec" / document / "published-facts.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["document"] == document
    del data["examples"]
    wordy = [(p, s) for p, s in _strings(data) if len(s.split()) > 12]
    assert wordy == []
    assert rf.facts(document).sections  # it loads


def test_loader_reads_no_snapshot_as_source(root):
    assert all(p.suffix == ".yaml" for p in source_files(root / "spec"))
    assert len(list((root / "spec").glob("*/published-facts.json"))) == 3


def test_committed_snapshots_are_fresh(root):
    """Re-extract each published text and compare: the one test that proves the snapshots
    still say what the published texts say. Needs the texts (CDS_REFERENCE_DIR)."""
    stale = []
    for document in rf.DOCUMENTS:
        source = rf.published_text(document)
        committed = root / "spec" / document / "published-facts.json"
        diff = stale_diff(
            committed.read_text(encoding="utf-8"), dumps(extract(source, document)), document
        )
        if diff:
            stale.append(
                f"{committed.relative_to(root)} is stale; refresh it with "
                f"`cdsgen facts {source} -o {committed.relative_to(root)}`:\n{diff}"
            )
    assert not stale, "\n\n".join(stale)
