"""`cdsgen diff`: every kind of change between two sources, classified for Clients and Servers.

Each case copies ``tests/fixtures/minispec`` (plus a request endpoint, an enum only used in
requests, a scope and an authorization-details field), applies one edit, and checks the
change found and its classification. ``Thing`` travels in responses only,
``ThingCreateRequest`` and ``ThingSize`` in request bodies only.
"""

# ruff: noqa: E501  (the table of cases reads best one case per line)

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cdsgen.diagnostics import Diagnostics
from cdsgen.diff import BREAKING, COMPATIBLE, INFO, Change, compare, usage
from cdsgen.loader import load_spec
from cdsgen.rules import Constraint
from cdsgen.rules import constraint_changes as changes

ROOT = Path(__file__).resolve().parents[1]
MINISPEC = ROOT / "tests/fixtures/minispec"

B, C, N = BREAKING, COMPATIBLE, INFO  # N: informational, no implementation touched

EXTRA = yaml.safe_load(
    """
objects:
  ThingCreateRequest:
    anchor: things
    title: Thing Creation Request
    kind: request
    summary: What a Client sends to create a thing.
    fields:
      size: {type: ThingSize, required: true, summary: How big.}
      note: {type: string, required: false, summary: A remark.}
enums:
  ThingSize:
    anchor: things
    title: Thing Sizes
    summary: Sizes a Client may ask for.
    values:
      s: Small.
      m: Medium.
endpoints:
  createThing:
    anchor: things
    summary: Create a thing.
    method: POST
    path: /things
    request: {type: ThingCreateRequest}
    responses:
      "201": {type: Thing, summary: The new thing.}
unions:
  ThingOrNote:
    anchor: things
    title: Thing or Note
    summary: A thing, or a note about one.
    members: [Thing, string]
scopes:
  thing_read:
    anchor: things
    name: Thing Read
    category: customer_consent
    summary: Read things.
    requirements:
      type: {equals: thing_read}
      grant_types_supported: {includes: [authorization_code], excludes: [client_credentials]}
      authorization_details_types_supported: {subset_of: [thing_ids, sync_until]}
authorization_details_fields:
  thing_ids:
    anchor: things
    name: Preselect Things
    category: preselection
    summary: Limit access to some things.
    requirements:
      id: {equals: thing_ids}
      format: {one_of: [string_list, string_list_or_null]}
errata:
  - id: thing-typo
    anchor: things
    target: {object: Thing}
    problem: A typo.
    resolution: Ignored.
"""
)

Edit = Callable[[dict, dict], None]


def make_source(folder: Path, edit: Edit | None = None) -> Path:
    """The mini source plus EXTRA, with ``edit(things, document)`` applied to the YAML."""
    shutil.copytree(MINISPEC, folder)
    things_path = folder / "cds-test-01/things.yaml"
    doc_path = folder / "cds-test-01/document.yaml"
    things = yaml.safe_load(things_path.read_text(encoding="utf-8"))
    for kind, items in EXTRA.items():
        if isinstance(items, list):
            things.setdefault(kind, []).extend(json.loads(json.dumps(items)))
        else:
            things.setdefault(kind, {}).update(json.loads(json.dumps(items)))
    things["objects"]["ThingListing"]["fields"]["featured"] = {
        "type": "ThingOrNote",
        "required": False,
        "summary": "A highlight.",
    }
    document = yaml.safe_load(doc_path.read_text(encoding="utf-8"))
    if edit is not None:
        edit(things, document)
    things_path.write_text(yaml.safe_dump(things, sort_keys=False), encoding="utf-8")
    doc_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return folder


def load(folder: Path):
    diags = Diagnostics()
    spec = load_spec(folder, diags)
    assert not diags.errors, [str(d) for d in diags.errors]
    return spec


def diff(tmp_path: Path, edit: Edit) -> list[Change]:
    old = load(make_source(tmp_path / "old"))
    new = load(make_source(tmp_path / "new", edit))
    return compare(old, new).changes


def only(changes: list[Change], kind: str | None = None, subject: str | None = None) -> Change:
    found = [
        c
        for c in changes
        if (kind is None or c.kind == kind) and (subject is None or c.subject == subject)
    ]
    assert len(found) == 1, f"expected one {kind} {subject}, got {changes}"
    return found[0]


# -- edits -------------------------------------------------------------------------------------
def thing(things: dict) -> dict:
    return things["objects"]["Thing"]["fields"]


def request(things: dict) -> dict:
    return things["objects"]["ThingCreateRequest"]["fields"]


def field(name: str, type_: str = "string", required: bool = False, **extra) -> dict:
    return {"type": type_, "required": required, "summary": f"The {name}.", **extra}


CASES: list[tuple[str, Edit, str, str, str, str]] = [
    # (id, edit, kind, subject, clients, servers)
    # -- fields of a response object: the Server writes, the Client reads
    ("response-optional-field-added", lambda t, d: thing(t).update(color=field("color")),
     "field-added", "Thing.color", C, C),
    ("response-required-field-added", lambda t, d: thing(t).update(color=field("color", required=True)),
     "field-added", "Thing.color", C, B),
    ("response-optional-field-removed", lambda t, d: thing(t).pop("label"),
     "field-removed", "Thing.label", C, C),
    ("response-required-field-removed", lambda t, d: thing(t).pop("kind"),
     "field-removed", "Thing.kind", B, C),
    ("response-optional-to-required", lambda t, d: thing(t)["label"].update(required=True),
     "field-required", "Thing.label", C, B),
    ("response-required-to-optional", lambda t, d: thing(t)["kind"].update(required=False),
     "field-optional", "Thing.kind", B, C),
    ("response-nullable-narrowed", lambda t, d: thing(t)["label"].update(nullable=False),
     "field-nullable-narrowed", "Thing.label", C, B),
    ("response-nullable-widened", lambda t, d: thing(t)["kind"].update(nullable=True),
     "field-nullable-widened", "Thing.kind", B, C),
    ("response-type-changed", lambda t, d: thing(t)["label"].update(type="integer"),
     "field-type", "Thing.label", B, B),
    ("response-type-narrowed", lambda t, d: thing(t)["label"].update(type="url"),
     "field-type", "Thing.label", C, B),
    ("response-type-widened", lambda t, d: thing(t)["label"].update(type="string | integer"),
     "field-type", "Thing.label", B, C),
    # -- fields of a request body: the Client writes, the Server reads
    ("request-optional-field-added", lambda t, d: request(t).update(color=field("color")),
     "field-added", "ThingCreateRequest.color", C, C),
    ("request-required-field-added", lambda t, d: request(t).update(color=field("color", required=True)),
     "field-added", "ThingCreateRequest.color", B, C),
    ("request-optional-to-required", lambda t, d: request(t)["note"].update(required=True),
     "field-required", "ThingCreateRequest.note", B, C),
    ("request-required-to-optional", lambda t, d: request(t)["size"].update(required=False),
     "field-optional", "ThingCreateRequest.size", C, B),
    ("request-required-field-removed", lambda t, d: request(t).pop("size"),
     "field-removed", "ThingCreateRequest.size", C, B),
    ("request-nullable-widened", lambda t, d: request(t)["note"].update(nullable=True),
     "field-nullable-widened", "ThingCreateRequest.note", C, B),
    # -- enumerations
    ("open-enum-value-added", lambda t, d: t["enums"]["ThingKind"]["values"].update(huge="Huge."),
     "enum-value-added", "ThingKind.huge", C, C),
    ("closed-enum-value-added",
     lambda t, d: (t["enums"]["ThingKind"].update(open=False), t["enums"]["ThingKind"]["values"].update(huge="Huge.")),
     "enum-value-added", "ThingKind.huge", B, C),
    ("open-enum-value-removed", lambda t, d: t["enums"]["ThingKind"]["values"].pop("big"),
     "enum-value-removed", "ThingKind.big", C, C),
    ("closed-enum-value-removed",
     lambda t, d: (t["enums"]["ThingKind"].update(open=False), t["enums"]["ThingKind"]["values"].pop("big")),
     "enum-value-removed", "ThingKind.big", C, B),
    ("request-enum-value-added", lambda t, d: t["enums"]["ThingSize"]["values"].update(l="Large."),
     "enum-value-added", "ThingSize.l", C, B),
    ("request-enum-value-removed", lambda t, d: t["enums"]["ThingSize"]["values"].pop("m"),
     "enum-value-removed", "ThingSize.m", B, C),
    ("enum-closed", lambda t, d: t["enums"]["ThingKind"].update(open=False),
     "enum-closed", "ThingKind", C, B),
    ("enum-added", lambda t, d: t["enums"].update(Shade={"anchor": "thing-list", "title": "Shades", "summary": "Shades.", "values": {"dark": "Dark."}}),
     "enum-added", "Shade", C, C),
    ("response-default-changed", lambda t, d: thing(t)["label"].update(default="none"),
     "field-default", "Thing.label", B, B),
    ("response-const-added", lambda t, d: thing(t)["label"].update(const="fixed"),
     "field-const", "Thing.label", C, B),
    ("response-min-items-raised", lambda t, d: t["objects"]["ThingListing"]["fields"]["things"].update(min_items=1),
     "field-min-items", "ThingListing.things", C, B),
    ("response-condition-added", lambda t, d: thing(t)["label"].update(required_if={"field": "kind", "equals": "big"}),
     "field-condition-added", "Thing.label", C, B),
    ("object-rule-added", lambda t, d: t["objects"]["Thing"].update(rules=[{"when": {"field": "kind", "equals": "big"}, "require": ["label"], "summary": "Big things are labelled."}]),
     "object-rule-added", "Thing", C, B),
    # -- unions
    ("union-member-added", lambda t, d: t["unions"]["ThingOrNote"]["members"].append("integer"),
     "union-member-added", "ThingOrNote.integer", B, C),
    ("union-member-removed", lambda t, d: t["unions"]["ThingOrNote"]["members"].remove("string"),
     "union-member-removed", "ThingOrNote.string", C, B),
    ("union-fallback-added", lambda t, d: t["unions"]["ThingOrNote"].update(fallback="map"),
     "union-fallback-added", "ThingOrNote", B, C),
    # -- objects
    ("object-removed", lambda t, d: t["objects"].pop("ThingCreateRequest") and t["endpoints"]["createThing"].pop("request"),
     "object-removed", "ThingCreateRequest", B, C),
    # -- endpoints and filters
    ("endpoint-path", lambda t, d: t["endpoints"]["listThings"].update(path="/v2/things"),
     "endpoint-path", "listThings", B, B),
    ("endpoint-method", lambda t, d: t["endpoints"]["createThing"].update(method="PUT"),
     "endpoint-method", "createThing", B, B),
    ("endpoint-removed", lambda t, d: t["endpoints"].pop("createThing"),
     "endpoint-removed", "createThing", B, C),
    ("endpoint-added", lambda t, d: t["endpoints"].update(getThing={"anchor": "thing-format", "summary": "One thing.", "method": "GET", "path": "/things/{id}", "path_params": {"id": {"type": "string", "summary": "Id."}}, "responses": {"200": {"type": "Thing", "summary": "It."}}}),
     "endpoint-added", "getThing", C, C),
    ("endpoint-scope-added", lambda t, d: t["endpoints"]["listThings"].update(scopes=["thing_read"]),
     "endpoint-scope-added", "listThings", C, B),
    ("endpoint-ordering-added", lambda t, d: t["endpoints"]["listThings"].update(ordering={"by": "id", "direction": "ascending"}),
     "endpoint-ordering", "listThings", C, B),
    ("response-body-changed", lambda t, d: t["endpoints"]["createThing"]["responses"]["201"].update(type="ThingListing"),
     "response-type", "createThing 201", B, B),
    ("request-body-removed", lambda t, d: t["endpoints"]["createThing"].pop("request"),
     "request-body", "createThing", B, C),
    ("filter-removed", lambda t, d: t["endpoints"]["listThings"]["filters"].pop("ids"),
     "filter-removed", "listThings?ids", B, C),
    ("filter-added", lambda t, d: t["endpoints"]["listThings"]["filters"].update(q={"syntax": "search", "fields": ["label"], "summary": "Search."}),
     "filter-added", "listThings?q", C, B),
    # -- scopes and authorization-details fields: what a Server publishes and supports
    ("scope-includes-grows", lambda t, d: t["scopes"]["thing_read"]["requirements"]["grant_types_supported"]["includes"].append("refresh_token"),
     "scope-tightened", "scope thing_read", C, B),
    ("scope-includes-shrinks", lambda t, d: t["scopes"]["thing_read"]["requirements"]["grant_types_supported"].pop("includes"),
     "scope-loosened", "scope thing_read", B, C),
    ("scope-excludes-grows", lambda t, d: t["scopes"]["thing_read"]["requirements"]["grant_types_supported"]["excludes"].append("implicit"),
     "scope-tightened", "scope thing_read", C, B),
    ("scope-subset-grows", lambda t, d: t["scopes"]["thing_read"]["requirements"]["authorization_details_types_supported"]["subset_of"].append("jwk"),
     "scope-loosened", "scope thing_read", B, C),
    ("scope-equals-changes", lambda t, d: t["scopes"]["thing_read"]["requirements"]["type"].update(equals="thing_view"),
     "scope-changed", "scope thing_read", B, B),
    ("scope-default-includes-grow", lambda t, d: t["scopes"]["thing_read"].update(default_includes=["thing_ids"]),
     "scope-tightened", "scope thing_read", C, B),
    ("scope-rule-added", lambda t, d: t["scopes"]["thing_read"].update(rules=[{"when": {"authorization": True}, "requirements": {"response_types_supported": {"includes": ["code"]}}}]),
     "scope-rule-added", "scope thing_read", C, B),
    ("scope-removed", lambda t, d: t["scopes"].pop("thing_read"),
     "scope-removed", "scope thing_read", B, C),
    ("scope-added", lambda t, d: t["scopes"].update(thing_write={"anchor": "thing-list", "name": "Thing Write", "category": "direct_access", "summary": "Write.", "requirements": {}}),
     "scope-added", "scope thing_write", C, C),
    ("auth-field-one-of-shrinks", lambda t, d: t["authorization_details_fields"]["thing_ids"]["requirements"]["format"]["one_of"].pop(),
     "authorization-details-field-tightened", "authorization details field thing_ids", C, B),
    ("auth-field-removed", lambda t, d: t.pop("authorization_details_fields"),
     "authorization-details-field-removed", "authorization details field thing_ids", B, C),
    # -- errata and documents: informational
    ("erratum-resolved", lambda t, d: t.pop("errata"), "erratum-resolved", "erratum thing-typo", N, N),
    ("erratum-added", lambda t, d: t["errata"].append({"id": "thing-two", "anchor": "things", "target": {"object": "Thing"}, "problem": "Another.", "resolution": "Kept."}),
     "erratum-added", "erratum thing-two", N, N),
    ("document-version", lambda t, d: d["document"].update(version="0.0.2"), "document-version", "cds-test-01", N, N),
    ("document-status", lambda t, d: d["document"].update(status="final"), "document-status", "cds-test-01", N, N),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "kind", "subject", "clients", "servers"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_change_is_found_and_classified(tmp_path, edit, kind, subject, clients, servers):
    change = only(diff(tmp_path, edit), kind, subject)
    assert (change.clients, change.servers) == (clients, servers), change
    assert change.document == "cds-test-01"
    if B in (clients, servers):
        assert change.why, "a breaking change says who must do what"


def test_unchanged_source_has_no_changes(tmp_path):
    assert diff(tmp_path, lambda t, d: None) == []


def test_field_rename_is_reported_once_as_rename(tmp_path):
    def rename(things, document):
        fields = thing(things)
        fields["title"] = fields.pop("label")

    changes = diff(tmp_path, rename)
    change = only(changes, "field-renamed", "Thing.title")
    assert "`label`" in change.message
    assert (change.clients, change.servers) == (C, C)  # optional on both sides
    assert not [c for c in changes if c.kind in ("field-added", "field-removed")]


def test_rename_of_a_required_field_breaks_both_sides(tmp_path):
    def rename(things, document):
        fields = thing(things)
        fields["category"] = fields.pop("kind")

    change = only(diff(tmp_path, rename), "field-renamed", "Thing.category")
    assert (change.clients, change.servers) == (B, B)


def test_fields_of_different_types_are_not_a_rename(tmp_path):
    def swap(things, document):
        fields = thing(things)
        fields.pop("label")
        fields["weight"] = field("weight", "decimal")

    changes = diff(tmp_path, swap)
    assert only(changes, "field-removed", "Thing.label")
    assert only(changes, "field-added", "Thing.weight")


def test_object_rename_is_compatible_and_types_follow_it(tmp_path):
    def rename(things, document):
        objects = things["objects"]
        objects["Item"] = objects.pop("Thing")
        objects["ThingListing"]["fields"]["things"]["type"] = "[Item]"
        things["endpoints"]["createThing"]["responses"]["201"]["type"] = "Item"
        things["errata"][0]["target"] = {"object": "Item"}
        things["unions"]["ThingOrNote"]["members"] = ["Item", "string"]

    changes = diff(tmp_path, rename)
    change = only(changes, "object-renamed", "Item")
    assert (change.clients, change.servers) == (C, C)
    assert [c.kind for c in changes if c.kind != "erratum-changed"] == ["object-renamed"]


def test_object_used_in_both_directions_breaks_both_parties(tmp_path):
    def both(things, document):
        # Thing becomes part of the request body too
        request(things)["template"] = field("template", "Thing")

    def edit(things, document):
        both(things, document)
        thing(things)["label"].update(required=True)

    old = load(make_source(tmp_path / "old", both))
    new = load(make_source(tmp_path / "new", edit))
    assert usage(new)["Thing"] == {"request", "response"}
    change = only(compare(old, new).changes, "field-required", "Thing.label")
    assert (change.clients, change.servers) == (B, B)
    assert "in requests" in change.why and "in responses" in change.why


def test_constraint_directions():
    def constraint_changes(old, new):
        parse = Constraint.parse
        return changes(parse(old) if old is not None else None, parse(new) if new else None)

    assert constraint_changes({"includes": ["a"]}, {"includes": ["a", "b"]}) == [
        ("tightened", "includes now also `b`")
    ]
    assert constraint_changes({"excludes": ["a"]}, {"excludes": []}) == [
        ("loosened", "excludes no longer `a`")
    ]
    assert constraint_changes({"subset_of": ["a", "b"]}, {"subset_of": ["a"]}) == [
        ("tightened", "subset_of no longer allows `b`")
    ]
    assert constraint_changes({"equals": 1}, {"equals": 2}) == [("changed", "equals `1` → `2`")]
    assert constraint_changes(None, {"non_empty": True}) == [("tightened", "must now be non-empty")]
    assert constraint_changes({"choices": {"includes": ["x"]}}, {"choices": {"includes": []}}) == [
        ("loosened", "choices includes no longer `x`")
    ]


# -- the command -------------------------------------------------------------------------------
def cdsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdsgen", *args], cwd=cwd, capture_output=True, text=True
    )


def test_command_exit_code_text_and_json(tmp_path):
    old = make_source(tmp_path / "old")
    compatible = make_source(
        tmp_path / "compatible", lambda t, d: thing(t).update(color=field("color"))
    )
    breaking = make_source(
        tmp_path / "breaking", lambda t, d: thing(t)["label"].update(required=True)
    )

    proc = cdsgen("diff", str(old), str(compatible), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Thing.color (#thing-format): OPTIONAL field added" in proc.stdout
    assert "0 breaking" in proc.stdout

    proc = cdsgen("diff", str(old), str(breaking), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[2].startswith("CDS-TEST-01 Lint Fixture")
    assert lines[3] == "  breaking (1)"
    assert (
        lines[4] == "    - Thing.label (#thing-format): OPTIONAL → REQUIRED [breaking for Servers]"
    )
    assert lines[5].strip() == "Servers must now send it"

    proc = cdsgen("diff", str(old), str(breaking), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["breaking"] is True
    assert report["summary"]["breaking_for_servers"] == 1
    assert report["summary"]["breaking_for_clients"] == 0
    assert report["changes"] == [
        {
            "document": "cds-test-01",
            "kind": "field-required",
            "subject": "Thing.label",
            "message": "OPTIONAL → REQUIRED",
            "severity": "breaking",
            "clients": "compatible",
            "servers": "breaking",
            "why": "Servers must now send it",
            "anchor": "thing-format",
        }
    ]


def test_command_reports_unknown_source(tmp_path):
    proc = cdsgen(
        "--spec", str(tmp_path / "spec"), "diff", "no-such-ref", str(tmp_path), cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "no-such-ref" in proc.stderr


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=cdsgen tests", "-c", "user.email=tests@example.com"]
    proc = subprocess.run(
        ["git", "-C", str(repo), *env_args, *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A git repository holding the mini source at one commit."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    make_source(root / "spec")
    git(root, "init", "-q")
    git(root, "add", "spec")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_against_compares_working_tree_with_a_ref(repo):
    things = repo / "spec/cds-test-01/things.yaml"
    data = yaml.safe_load(things.read_text())
    data["enums"]["ThingKind"]["values"].pop("small")
    data["endpoints"]["listThings"]["filters"].pop("ids")
    things.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = cdsgen("diff", "--against", "HEAD", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("cdsgen diff HEAD (")
    assert "→ working tree" in proc.stdout.splitlines()[0]
    assert "- listThings?ids (#thing-list): filter removed [breaking for Clients]" in proc.stdout
    assert "- ThingKind.small (#thing-kinds): value removed" in proc.stdout
    git(repo, "commit", "-q", "-am", "second")
    proc = cdsgen("diff", "HEAD~1", "HEAD", "--format", "json", cwd=repo)
    assert proc.returncode == 1
    kinds = sorted(c["kind"] for c in json.loads(proc.stdout)["changes"])
    assert kinds == ["enum-value-removed", "filter-removed"]


def _commit_with(root: Path, path: str) -> str | None:
    """The first commit of this repository whose tree holds ``path``, or None."""
    proc = subprocess.run(
        ["git", "-C", str(root), "log", "--reverse", "--format=%H", "--", path],
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.split()
    return lines[0] if proc.returncode == 0 and lines else None


def test_diff_between_real_commits_of_this_repository(root):
    """The first commit transcribed CDS-WG1-01 only; the commit adding the WG1-02
    registration source adds the REQUIRED `oauth_metadata` to the Server Metadata object
    (WG1-02 §3.1): breaking for Servers, which must now publish it."""
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    first = _commit_with(root, "spec/cds-wg1-01/document.yaml")
    second = _commit_with(root, "spec/cds-wg1-02/oauth-metadata.yaml")
    if first is None or second is None or first == second:
        pytest.skip("history not available (shallow clone?)")
    proc = cdsgen("diff", first, second, "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["breaking"] is True
    changes = {(c["kind"], c["subject"]): c for c in report["changes"]}
    oauth = changes[("field-added", "ServerMetadata.oauth_metadata")]
    assert (oauth["document"], oauth["clients"], oauth["servers"]) == ("cds-wg1-02", C, B)
    assert changes[("enum-value-added", "ServerCapability.oauth")]["severity"] == C
    added = {c["subject"] for c in report["changes"] if c["kind"] == "endpoint-added"}
    assert {"registerClient", "listClients", "requestToken"} <= added
    assert ("object-added", "AuthorizationServerMetadata") in changes

    proc = cdsgen("diff", second, second, cwd=root)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1] == "no changes"


@pytest.mark.parametrize(
    ("required", "relation", "clients", "servers"),
    [(False, "wider", B, C), (True, "narrower", C, B)],
    ids=["looser-variant", "stricter-variant"],
)
def test_response_type_replaced_by_a_variant_is_compared_by_structure(
    tmp_path, required, relation, clients, servers
):
    """A response now typed by another object (e.g. a variant with one field made optional)
    is classified from the two structures, not just from the names."""

    def variant(things, document):
        things["objects"]["ThingVariant"] = {
            "anchor": "thing-format",
            "title": "Thing variant",
            "summary": "A thing whose label rules differ.",
            "base": "Thing",
            "fields": {
                "kind": field("kind", "ThingKind", required=required),
                "extra": field("extra", required=required),
            },
        }
        things["endpoints"]["createThing"]["responses"]["201"]["type"] = "ThingVariant"

    change = only(diff(tmp_path, variant), "response-type")
    assert f"({relation})" in change.message
    assert (change.clients, change.servers) == (clients, servers)


def test_every_change_names_a_listed_rule(tmp_path):
    """The kinds of change are one table (``cdsgen diff --list-rules``); an id the code uses
    without listing it is refused, and every listed id appears in the diff's code."""
    import re

    from cdsgen.diff.core import _rule
    from cdsgen.diff.rules import DIFF_RULES

    with pytest.raises(ValueError, match="not listed"):
        _rule("field-made-up")
    code = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "tools/cdsgen/diff").glob("*.py"))
    )
    templated = {"scope", "authorization-details-field"}
    for rule in DIFF_RULES:
        kind = next((k for k in templated if rule.startswith(k + "-")), None)
        suffix = rule.removeprefix(kind + "-") if kind else None
        found = f'"{rule}"' in code or (
            suffix is not None
            and re.search(
                rf'f"{{kind}}-({re.escape(suffix)}|{{(verdict|TIGHTENED|LOOSENED)}})"', code
            )
        )
        documents = rule.startswith("document-") and 'f"document-{attr' in code
        assert found or documents, rule
    listed = cdsgen("diff", "--list-rules", cwd=tmp_path)
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == len(DIFF_RULES)
