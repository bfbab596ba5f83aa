"""The generated OpenAPI: valid 3.1, and every stable `x-cds-*` interface of DESIGN.md."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

DOCS = ["cds-wg1-01", "cds-wg1-02", "cds-wg3-01"]


@pytest.mark.parametrize("name", ["cds", *DOCS])
def test_openapi_is_valid(root, name):
    api = json.loads((root / f"generated/openapi/{name}.openapi.json").read_text())
    validate(api)
    assert api["openapi"] == "3.1.0"


def test_every_component_carries_anchor_and_document(openapi, spec):
    for name, schema in openapi["components"]["schemas"].items():
        assert schema.get("x-cds-document") in DOCS, name
        anchor = schema.get("x-cds-anchor")
        assert anchor in spec.documents[schema["x-cds-document"]].all_anchors(), name


@pytest.mark.parametrize(
    "component,anchor",
    [
        ("ServerMetadata", "metadata-object-format"),
        ("ServerCapability", "server-capabilities"),
        ("CoverageListing", "coverage-listing-format"),
        ("CoverageEntry", "coverage-entry-format"),
        ("CoverageType", "coverage-entry-types"),
        ("CapabilityRole", "capability-roles"),
        ("InfrastructureType", "infrastructure-types"),
        ("CommodityType", "commodity-types"),
    ],
)
def test_wg1_01_anchors(openapi, component, anchor):
    schema = openapi["components"]["schemas"][component]
    assert schema["x-cds-anchor"] == anchor
    assert schema["x-cds-document"] == "cds-wg1-01"


def test_coverage_listing_declares_its_filter(openapi):
    op = openapi["paths"]["/cds-coverage.json"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["ids"]["schema"]["x-cds-syntax"] == "space-separated"
    assert params["ids"]["x-cds-matches"] == "id"
    assert op["x-cds-ordering"] == {"by": "updated", "direction": "descending"}
    assert op["x-cds-advertised-by"] == "ServerMetadata.coverage"


def test_conditional_requirement_on_coverage_is_enforced(openapi):
    """`coverage` is REQUIRED when `capabilities` lists `coverage` (WG1-01 §3.2)."""
    import jsonschema

    schemas = openapi["components"]["schemas"]
    schema = {**schemas["ServerMetadata"], "components": {"schemas": schemas}}
    base = {
        "cds_metadata_version": "v1",
        "cds_metadata_url": "https://e.com/m",
        "created": "2022-01-01T00:00:00Z",
        "updated": "2022-01-01T00:00:00Z",
        "name": "n",
        "description": "d",
        "website": "https://e.com",
        "documentation": "https://e.com/d",
        "support": "https://e.com/s",
        "oauth_metadata": "https://e.com/o",
    }
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({**base, "capabilities": []})
    assert not validator.is_valid({**base, "capabilities": ["coverage"]})
    assert validator.is_valid({**base, "capabilities": ["coverage"], "coverage": "https://e.com/c"})
