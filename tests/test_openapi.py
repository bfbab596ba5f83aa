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


# -- what peer tools need (issue 16) ------------------------------------------------------------
def _ops(api):
    for path, item in api["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _resolve(api, node):
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = api["components"][section][name]
    return node


@pytest.mark.parametrize("name", ["cds", *DOCS])
def test_every_operation_documents_its_error_responses(root, name):
    """The contract with the server: 400 and 429 everywhere, 401 (WWW-Authenticate) when
    authenticated, 403 for access tokens, 404 with path parameters, 413/415 with a body,
    503 with Retry-After; bodies are the shared OAuth error object."""
    api = json.loads((root / f"generated/openapi/{name}.openapi.json").read_text())
    assert api["components"]["schemas"]["OAuthError"]["required"] == ["error"]
    for path, method, op in _ops(api):
        where = f"{method.upper()} {path}"
        statuses = set(op["responses"])
        expected = {"400", "429", "503"}
        if op.get("security"):
            expected.add("401")
        if any("oauth2" in s for s in op.get("security", [])):
            expected.add("403")
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            expected.add("404")
        if "requestBody" in op:
            expected |= {"413", "415"}
        assert expected <= statuses, (where, sorted(expected - statuses))
        for status in expected:
            response = _resolve(api, op["responses"][status])
            if status == "400" and "content" not in response:
                assert path == "/oauth/authorize"  # shown to the user, not sent to the Client
                continue
            body = next(iter(response["content"].values()))["schema"]
            assert body == {"$ref": "#/components/schemas/OAuthError"}, (where, status)
            headers = response.get("headers", {})
            if status == "401":
                assert "WWW-Authenticate" in headers, where
            if status in ("429", "503"):
                assert "Retry-After" in headers, where
    shared = api["components"]["responses"]
    bad_request = shared["BadRequest"]["description"]
    assert "invalid_request" in bad_request and "names the parameter" in bad_request
    assert name == "cds-wg1-01" or "insufficient_scope" in shared["Forbidden"]["description"]


def test_info_tags_and_server_are_explained(openapi):
    info = openapi["info"]
    assert info["contact"]["url"].startswith("https://") and info["contact"]["name"]
    assert info["license"]["identifier"] == "Apache-2.0"
    tags = {t["name"]: t for t in openapi["tags"]}
    used = {tag for _, _, op in _ops(openapi) for tag in op["tags"]}
    assert used == set(tags)
    assert all(t["description"].startswith("Operations defined in CDS-WG") for t in tags.values())
    (server,) = openapi["servers"]
    assert "metadata" in server["description"]
    assert server["variables"]["host"]["default"] == "example.com"


def test_open_union_has_a_named_member_for_unknown_types(openapi):
    import jsonschema

    schemas = openapi["components"]["schemas"]
    union = schemas["ValueFormat"]
    assert "discriminator" not in union
    assert union["x-cds-fallback"] == "GenericValueFormat"
    assert union["x-cds-discriminator"]["propertyName"] == "type"
    assert union["oneOf"][-1] == {"$ref": "#/components/schemas/UnknownValueFormat"}
    validator = jsonschema.Draft202012Validator({**union, "components": openapi["components"]})
    assert validator.is_valid({"id": "x", "type": "acme_heat", "joules": 3})
    assert validator.is_valid({"id": "x", "type": "electric_usage", "units": "kWh"})
    # exactly one member matches: a known type is never also the unknown one
    unknown = {**schemas["UnknownValueFormat"], "components": openapi["components"]}
    assert not jsonschema.Draft202012Validator(unknown).is_valid({"id": "x", "type": "cost"})


def test_peer_tool_forms_of_constants_objects_and_conditionals(openapi):
    schemas = openapi["components"]["schemas"]
    grant_types = schemas["ClientRegistrationResponse"]["properties"]["grant_types"]
    assert "const" not in grant_types and grant_types["x-cds-const"] == ["client_credentials"]
    assert grant_types["minItems"] == grant_types["maxItems"] == 1
    assert grant_types["items"]["const"] == "client_credentials"
    text = json.dumps(openapi)
    assert '"const": []' not in text and '"const": ["' not in text

    def walk(node, path=""):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" not in node:
                assert "additionalProperties" in node, path
            if node.get("type") == "array":
                assert "items" in node, path
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(openapi["components"])
    for name, schema in schemas.items():
        for rule in schema.get("allOf", []):
            then = rule.get("then", {})
            for required in then.get("required", []):
                assert required in then.get("properties", {}), name
