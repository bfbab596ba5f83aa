"""Scopes and authorization-details fields as machine-readable rules (WG1-02 §3.3, WG3-01 §6–§7)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import reference_facts as rf
from cdsgen.scope_rules import check_scope_descriptions


def _subsections(document, parent_anchor):
    for s in rf.facts(document).outline.flat_sections():
        if s.anchor == parent_anchor:
            return s.children
    raise AssertionError(parent_anchor)


def _leaves(sections):
    out = []
    for s in sections:
        out += (
            _leaves(s.children)
            if s.children and not s.anchor.startswith("auth-details-include-")
            else [s]
        )
        if s.children and s.anchor.startswith("auth-details-include-"):
            out += _leaves(s.children)
    return out


@pytest.mark.parametrize(
    "document,parent",
    [
        ("cds-wg1-02", "scopes"),
        ("cds-wg3-01", "scopes-customer-consent"),
        ("cds-wg3-01", "scopes-direct-access"),
    ],
)
def test_every_published_scope_is_exported_with_its_anchor(openapi, document, parent):
    try:
        published = {s.anchor for s in _subsections(document, parent)}
    except AssertionError:
        pytest.skip(f"no section {parent}")
    ours = {
        s["x-cds-anchor"]
        for s in openapi["x-cds-scopes"].values()
        if s["x-cds-document"] == document
    }
    assert published <= ours, sorted(published - ours)


def test_every_published_authorization_details_field_is_exported(openapi):
    sections = []
    for parent in (
        "auth-details-preselection",
        "auth-details-included-data",
        "auth-details-duration",
        "auth-details-other",
    ):
        try:
            sections += _subsections("cds-wg3-01", parent)
        except AssertionError:
            pass
    published = set()
    stack = list(sections)
    while stack:
        s = stack.pop()
        if s.number.count(".") >= 2 and not s.title.endswith("Matching"):
            published.add(s.anchor)
        stack += s.children
    ours = {f["x-cds-anchor"] for f in openapi["x-cds-authorization-details-fields"].values()}
    assert len(published) >= 50
    assert published <= ours, sorted(published - ours)


@pytest.mark.parametrize("document", ["cds-wg1-02", "cds-wg3-01"])
def test_every_published_scope_type_is_exported_at_its_section(openapi, document):
    """The `type` each scope section fixes is a scope of ours, anchored at that section."""
    published = rf.facts(document).scopes
    assert len(published) >= 3
    wrong = [
        (s.type, s.anchor)
        for s in published
        if openapi["x-cds-scopes"].get(s.type, {}).get("x-cds-anchor") != s.anchor
    ]
    assert wrong == []


def test_every_published_authorization_details_id_and_format_is_exported(openapi):
    """The `id` and allowed `format` values each field section fixes, exactly."""
    published = rf.facts("cds-wg3-01").authorization_details_fields
    ours = openapi["x-cds-authorization-details-fields"]
    assert len(published) >= 50
    problems = []
    for field in published:
        mine = ours.get(field.id)
        if mine is None or mine["x-cds-anchor"] != field.anchor:
            problems.append(f"{field.id} (#{field.anchor}) is not exported at its section")
            continue
        rule = mine["requirements"].get("format", {})
        formats = rule.get("one_of") or ([rule["equals"]] if "equals" in rule else [])
        if sorted(formats) != sorted(field.formats):
            problems.append(f"{field.id}: formats {formats} but published {field.formats}")
    assert problems == []


def test_scope_rules_are_machine_readable(openapi):
    usage = openapi["x-cds-scopes"]["cds_usage"]
    assert usage["x-cds-anchor"] == "scope-meter-usage"
    assert usage["grant_types"] == {
        "includes": ["authorization_code", "refresh_token"],
        "excludes": ["client_credentials"],
    }
    assert "segment_start" in usage["authorization_details_types"]["required"]
    assert "account_numbers" in usage["authorization_details_types"]["conditional"]
    assert usage["default_includes"] == ["include_usage_segments"]
    admin = openapi["x-cds-scopes"]["cds_client_admin"]
    assert admin["x-cds-anchor"] == "scopes-client-admin"
    field = openapi["x-cds-authorization-details-fields"]["account_numbers"]
    assert field["x-cds-anchor"] == "auth-details-account-numbers"
    assert field["requirements"]["format"] == {
        "one_of": ["string_list_or_null", "choice_list_or_null"]
    }


def _published_metadata(spec, example_id):
    return copy.deepcopy(spec.examples[example_id].response.body)


def test_published_example_violations_are_all_recorded_errata(spec, lint_result):
    """Lint fails on any scope-rule violation of a published example that no erratum covers;
    here we check the checker does run on them (the WG1-02 example misses a REQUIRED field)."""
    assert lint_result.ok
    violations = check_scope_descriptions(
        spec, _published_metadata(spec, "wg1-02-auth-server-metadata")
    )
    assert {v.field for v in violations} == {"registration_optional"}
    errata = spec.errata_for(example="wg1-02-auth-server-metadata")
    assert any("registration_optional: missing" in c for e in errata for c in e.covers)


def test_a_valid_client_admin_scope_passes(spec):
    meta = _published_metadata(spec, "wg1-02-auth-server-metadata")
    meta["cds_scope_descriptions"]["cds_client_admin"]["registration_optional"] = []
    violations = [
        v for v in check_scope_descriptions(spec, meta) if v.scope_id == "cds_client_admin"
    ]
    assert violations == []


def test_a_broken_scope_is_rejected_with_the_rules_anchor(spec):
    meta = _published_metadata(spec, "wg1-02-auth-server-metadata")
    admin = meta["cds_scope_descriptions"]["cds_client_admin"]
    admin["registration_optional"] = []
    admin["grant_types_supported"] = ["authorization_code"]
    violations = [
        v for v in check_scope_descriptions(spec, meta) if v.scope_id == "cds_client_admin"
    ]
    assert [(v.field, v.anchor, v.document) for v in violations] == [
        ("grant_types_supported", "scopes-client-admin", "cds-wg1-02")
    ]


def test_broken_customer_data_scope_names_the_wg3_anchor(spec):
    meta = _published_metadata(spec, "wg3-01-get-scopes-metadata")
    usage = meta["cds_scope_descriptions"]["cds_usage_1"]
    usage["grant_types_supported"] = ["client_credentials"]
    found = {
        (v.field, v.anchor)
        for v in check_scope_descriptions(spec, meta)
        if v.scope_id == "cds_usage_1"
    }
    assert ("grant_types_supported", "scope-meter-usage") in found


def test_check_scopes_command(root, spec, tmp_path):
    meta = _published_metadata(spec, "wg1-02-auth-server-metadata")
    for desc in meta["cds_scope_descriptions"].values():
        desc["registration_optional"] = []
    good = tmp_path / "good.json"
    good.write_text(json.dumps(meta))
    run = [sys.executable, "-m", "cdsgen", "--spec", str(root / "spec"), "check-scopes"]
    proc = subprocess.run([*run, str(good)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta["cds_scope_descriptions"]["cds_client_admin"]["response_types_supported"] = ["code"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(meta))
    proc = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "cds_client_admin (cds_client_admin): response_types_supported" in proc.stdout
    assert "[cds-wg1-02#scopes-client-admin]" in proc.stdout
