"""The rule language (:mod:`cdsgen.rules`): one typed implementation that checks values, says
itself in words, exports itself to the OpenAPI and compares versions — and every consumer
(checker, OpenAPI, server stubs, site, diff) agrees with it."""

from __future__ import annotations

import json

import pytest
import yaml
from cds_server import AUTHORIZATION_DETAILS_FIELDS, SCOPE_TYPES
from cdsgen.rules import (
    MISSING,
    Choices,
    Constraint,
    Requirements,
    ScopeCondition,
    constraint_changes,
)

CASES = [
    # (constraint, value, problems)
    ({"equals": ["a"]}, ["a"], []),
    ({"equals": ["a"]}, ["b"], ["must be ['a'], is ['b']"]),
    ({"one_of": ["x", "y"]}, "z", ["must be one of ['x', 'y'], is 'z'"]),
    ({"includes": ["a", "b"]}, ["a"], ["must include ['b']"]),
    ({"includes": ["a"]}, "not a list", ["must include ['a']"]),
    ({"excludes": ["a"]}, ["a", "c"], ["must not include ['a']"]),
    ({"subset_of": ["a"]}, ["a", "b"], ["may only hold ['a'], also holds ['b']"]),
    ({"non_empty": True}, [], ["must not be empty"]),
    ({"non_empty": False}, ["a"], ["must be empty"]),
    ({"is_null": True}, 1, ["must be null"]),
    ({"is_null": False}, None, ["must not be null"]),
    ({"choices": {"includes": ["k"]}}, {"choices": [{"id": "j"}]}, ["choices: must include ['k']"]),
    ({"choices": {"includes": ["k"]}}, {}, ["choices: missing"]),
    (
        {"includes": ["a"], "excludes": ["b"]},
        ["b"],
        ["must include ['a']", "must not include ['b']"],
    ),
]


@pytest.mark.parametrize(("source", "value", "problems"), CASES)
def test_each_test_checks_its_value(source, value, problems):
    constraint = Constraint.parse(source)
    assert constraint.problems(value) == problems
    assert constraint.export() == source  # the source form comes back, key order included
    assert constraint.problems(MISSING) == ["missing"]


def test_requirements_name_the_field():
    req = Requirements.parse({"grant_types_supported": {"includes": ["client_credentials"]}})
    assert list(req.problems({})) == [("grant_types_supported", "missing")]
    assert list(req.problems({"grant_types_supported": ["client_credentials"]})) == []
    assert req.of("unknown").tests == []


def test_wording_for_the_site():
    words = [t.wording() for t in Constraint.parse({"includes": ["a"], "is_null": True}).tests]
    assert words == [("includes", ["a"]), ("is", [None])]
    assert Constraint.parse({"non_empty": False}).tests[0].wording() == ("may be empty", None)
    assert isinstance(Constraint.parse({"choices": {"equals": []}}).tests[0], Choices)


def test_changes_between_versions():
    def changes(old, new):
        return constraint_changes(
            Constraint.parse(old) if old is not None else None,
            Constraint.parse(new) if new is not None else None,
        )

    assert changes({"one_of": ["a"]}, {"one_of": ["a", "b"]}) == [
        ("loosened", "one_of now also allows `b`")
    ]
    assert changes({"includes": ["a"]}, None) == [("loosened", "includes no longer `a`")]
    assert changes({"is_null": True}, {}) == [("loosened", "no longer is_null `true`")]
    assert changes(None, {"equals": "x"}) == [("tightened", 'now equals `"x"`')]
    assert changes({"non_empty": True}, None) == [("loosened", "may now be empty")]


def test_conditions_apply_to_scope_descriptions():
    authorized = ScopeCondition.parse({"authorization": True})
    assert authorized.applies({"response_types_supported": ["code"]})
    assert not authorized.applies({"response_types_supported": []})
    choice = ScopeCondition.parse({"choice": {"field": "f", "id": "c"}})
    offered = {"authorization_details_fields_supported": [{"id": "f", "choices": [{"id": "c"}]}]}
    assert choice.applies(offered)
    assert not choice.applies({"authorization_details_fields_supported": [{"id": "f"}]})
    assert choice.export() == {"choice": {"field": "f", "id": "c"}}


def test_every_consumer_reads_the_same_rules(spec, openapi):
    """The OpenAPI export and the generated server stubs say what the model's rules say."""
    for scope_type, scope in spec.scopes.items():
        exported = openapi["x-cds-scopes"][scope_type]
        assert exported["requirements"] == scope.requirements.export()
        assert exported["rules"] == [r.export() for r in scope.rules]
        stub = SCOPE_TYPES[scope_type]
        grant_types = scope.requirements.of("grant_types_supported")
        assert list(stub.grant_types) == grant_types.required_values()
        assert list(stub.excluded_grant_types) == grant_types.listed("excludes")
    for fid, f in spec.authorization_details_fields.items():
        assert openapi["x-cds-authorization-details-fields"][fid]["requirements"] == (
            f.requirements.export()
        )
        assert list(AUTHORIZATION_DETAILS_FIELDS[fid].formats) == (
            f.requirements.of("format").possible_values()
        )


def test_openapi_yaml_is_the_json_without_aliases(root):
    for path in (root / "generated/openapi").glob("*.openapi.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "&id" not in text and "*id" not in text, path.name
        twin = path.with_suffix(".json")
        assert yaml.safe_load(text) == json.loads(twin.read_text(encoding="utf-8")), path.name
