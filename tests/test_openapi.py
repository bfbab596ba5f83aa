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
    assert op["x-cds-ordering"] == [{"by": "updated", "direction": "descending"}]
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


def test_extended_schemas_list_the_extending_sections(openapi):
    schemas = openapi["components"]["schemas"]
    assert "server-metadata" in schemas["AuthorizationServerMetadata"]["x-cds-extensions"]
    assert "auth-server-metadata-url" in schemas["ServerMetadata"]["x-cds-extensions"]
    assert "auth-server-metadata-url" in schemas["ServerCapability"]["x-cds-extensions"]
    added = schemas["ServerMetadata"]["properties"]["oauth_metadata"]
    assert (added["x-cds-document"], added["x-cds-anchor"]) == (
        "cds-wg1-02",
        "auth-server-metadata-url",
    )


@pytest.mark.parametrize(
    "path,method,anchor",
    [
        ("/oauth/register", "post", "registration-request"),
        ("/cds-api/v1/clients/{client_id}", "put", "clients-modify"),
        ("/cds-api/v1/messages", "post", "messages-create"),
        ("/cds-api/v1/messages/{message_id}", "patch", "messages-modify"),
        ("/cds-api/v1/credentials", "post", "credentials-create"),
        ("/cds-api/v1/credentials/{credential_id}", "patch", "credentials-modify"),
        ("/cds-api/v1/grants/{grant_id}", "patch", "grants-modify"),
    ],
)
def test_request_bodies_carry_the_anchor_of_their_section(openapi, path, method, anchor):
    body = openapi["paths"][path][method]["requestBody"]["content"]
    schema = next(iter(body.values()))["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    assert openapi["components"]["schemas"][name]["x-cds-anchor"] == anchor


@pytest.mark.parametrize(
    "component,anchor",
    [
        ("MeterDevice", "meter-device-format"),
        ("MeterType", "meter-types"),
        ("MeterDeviceListing", "meter-device-list"),
        ("UsageSegmentListing", "usage-segment-list"),
        ("AuthorizationServerMetadata", "auth-server-metadata-format"),
    ],
)
def test_customer_data_anchors(openapi, component, anchor):
    assert openapi["components"]["schemas"][component]["x-cds-anchor"] == anchor


def test_operations_say_which_metadata_field_advertises_them(openapi):
    op = openapi["paths"]["/cds-customerdata-api/v1/meter-devices"]["get"]
    assert op["x-cds-advertised-by"] == "AuthorizationServerMetadata.cds_meterdevices_api"
    assert op["x-cds-anchor"] == "meter-device-list"
    assert {"oauth2": ["cds_query_meter_devices"]} in op["security"]
