"""Generated pydantic models: forward compatible for Clients, still strict about real errors."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import cds_models
import pytest
from pydantic import ValidationError

ENTRY = {
    "id": "dge_elec_west",
    "created": "2022-06-01T00:00:00Z",
    "updated": "2022-06-01T00:00:00Z",
    "entity_name": "Demo Gas & Electric",
    "entity_abbreviation": "DG&E",
    "country": "US",
    "name": "Western electric service territory",
    "type": "geographic",
    "role": "official",
    "infrastructure_types": ["distribution_utility"],
    "commodity_types": ["electricity"],
    "capabilities": [],
    "map_resource": "https://static.example.com/map.png",
    "map_content_type": "image/png",
}


def test_unknown_fields_are_kept_on_round_trip():
    data = {**ENTRY, "exampleutility_region_code": {"nested": [1, 2]}}
    entry = cds_models.CoverageEntry.model_validate(data)
    assert entry.model_extra == {"exampleutility_region_code": {"nested": [1, 2]}}
    dumped = entry.model_dump(mode="json", exclude_unset=True)
    assert dumped["exampleutility_region_code"] == {"nested": [1, 2]}


def test_known_enum_values_are_members_in_fields_and_lists():
    entry = cds_models.CoverageEntry.model_validate(ENTRY)
    assert entry.role is cds_models.CapabilityRole.official
    assert entry.type is cds_models.CoverageType.geographic
    assert entry.infrastructure_types == [cds_models.InfrastructureType.distribution_utility]
    assert isinstance(entry.infrastructure_types[0], cds_models.InfrastructureType)


def test_unknown_enum_values_are_plain_strings():
    data = {**ENTRY, "role": "cooperative", "commodity_types": ["electricity", "hydrogen"]}
    entry = cds_models.CoverageEntry.model_validate(data)
    assert entry.role == "cooperative" and type(entry.role) is str
    assert entry.commodity_types[0] is cds_models.CommodityType.electricity
    assert entry.commodity_types[1] == "hydrogen" and type(entry.commodity_types[1]) is str
    assert entry.model_dump(mode="json")["commodity_types"] == ["electricity", "hydrogen"]


@pytest.mark.parametrize(
    "change",
    [
        {"infrastructure_types": "distribution_utility"},  # not a list
        {"created": "yesterday"},  # not a datetime
        {"entity_abbreviation": 42},  # not a string
        {"role": None},  # REQUIRED and not nullable
    ],
)
def test_wrong_types_are_rejected(change):
    with pytest.raises(ValidationError):
        cds_models.CoverageEntry.model_validate({**ENTRY, **change})


@pytest.mark.parametrize("field", ["id", "country", "capabilities", "entity_abbreviation"])
def test_missing_required_fields_are_rejected(field):
    data = copy.deepcopy(ENTRY)
    del data[field]
    with pytest.raises(ValidationError) as exc:
        cds_models.CoverageEntry.model_validate(data)
    assert field in str(exc.value)


def test_nullable_required_field_accepts_null():
    entry = cds_models.CoverageEntry.model_validate({**ENTRY, "entity_abbreviation": None})
    assert entry.entity_abbreviation is None


def test_published_examples_without_errata_parse(spec, lint_result):
    """Every example body lint found valid also parses with the generated models."""
    from cdsgen.types import Named

    checked = 0
    for ex in spec.examples.values():
        if lint_result.example_problems[ex.id] or ex.response is None:
            continue
        if not ex.response.body_is_json:
            continue
        ep = spec.endpoints[ex.operation]
        resp = next((r for r in ep.responses if r.status == ex.status), None)
        if resp is None or not isinstance(resp.type, Named):
            continue
        model = getattr(cds_models, resp.type.name)
        model.model_validate(ex.response.body)
        checked += 1
    assert checked >= 1


def test_published_examples_read_back_as_written(spec):
    """A model gives back each example body (as its errata correct it) as published, requests
    and responses: URLs keep their form (OAuth compares an ``issuer`` or a ``redirect_uri`` as a
    string, so ``https://example.com`` must not come back as ``https://example.com/``) and
    unknown fields stay; only the spelling of a date-time or a number may change, never its
    value."""
    from cdsgen.corrections import corrected_body, differences
    from cdsgen.types import Named

    read_back = []
    for ex in spec.examples.values():
        ep = spec.endpoints.get(ex.operation) if ex.operation else None
        if ep is None:
            continue
        response = next((r for r in ep.responses if r.status == ex.status), None)
        parts = {
            "request": (ex.request, ep.request_type),
            "response": (ex.response, response.type if response else None),
        }
        for part, (message, body_type) in parts.items():
            if message is None or not message.body_is_json or not isinstance(body_type, Named):
                continue
            body = corrected_body(spec, ex, part)
            try:
                parsed = getattr(cds_models, body_type.name).model_validate(body)
            except ValidationError:
                continue  # a body the models cannot take is lint's and the errata's to report
            back = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
            changed = [
                d for d in differences(body, back) if d[0] != "changed" or not _same_instant(*d[2:])
            ]
            assert changed == [], f"{ex.id} {part}"
            read_back.append((ex.id, part))
    issuers = {
        ("wg3-01-get-scopes-metadata", "response"),
        ("wg3-01-grant-admin-client-oauth-metadata", "response"),
        ("wg3-01-add-redirect-uri", "request"),
    }
    assert len(read_back) >= 50 and issuers <= set(read_back), read_back


def _same_instant(a: Any, b: Any) -> bool:
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return False
