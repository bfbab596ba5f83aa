"""Usage segments (WG3-01 §10.8): forward-compatible value formats, typed enums in arrays,
and the invariants the validation helper checks."""

from __future__ import annotations

import copy

import cds_models
import pytest
from cdsgen.validate import PayloadValidator
from pydantic import ValidationError

SEGMENT = {
    "cds_usagesegment_id": "seg-1",
    "cds_created": "2025-01-02T00:00:00Z",
    "cds_modified": "2025-01-02T00:00:00Z",
    "cds_synced": "2025-01-02T00:00:00Z",
    "related_aggregations": [],
    "related_accounts": ["a1"],
    "related_servicecontracts": ["sc1"],
    "related_servicepoints": ["sp1"],
    "related_meterdevices": ["md1"],
    "related_billsections": [],
    "segment_start": "2025-01-01T00:00:00Z",
    "segment_end": "2025-01-01T00:30:00Z",
    "interval": 900,
    "formats": [
        {"id": "net", "type": "electric_usage", "units": "kWh", "direction": "net"},
        {
            "id": "co2",
            "type": "exampleutility_carbon",
            "units": "kg",
            "exampleutility_grid": "west",
        },
    ],
    "values": [[{"eu": 1.5}, {"kg": 0.4}], [None, {"kg": 0.3}]],
}


def test_known_value_format_is_typed_with_enum_members():
    seg = cds_models.UsageSegment.model_validate(SEGMENT)
    fmt = seg.formats[0]
    assert isinstance(fmt, cds_models.ElectricUsageValueFormat)
    assert fmt.units is cds_models.UnitType.kWh
    assert fmt.direction is cds_models.DirectionType.net


def test_unknown_value_type_falls_back_and_keeps_its_fields():
    seg = cds_models.UsageSegment.model_validate(SEGMENT)
    other = seg.formats[1]
    assert type(other) is cds_models.GenericValueFormat
    assert other.type == "exampleutility_carbon"
    assert other.model_extra == {"units": "kg", "exampleutility_grid": "west"}
    dumped = seg.model_dump(mode="json", exclude_unset=True)
    assert dumped["formats"][1] == SEGMENT["formats"][1]
    assert dumped["values"] == SEGMENT["values"]


def test_known_value_type_reports_precise_errors():
    data = copy.deepcopy(SEGMENT)
    data["formats"][0]["direction"] = 42
    with pytest.raises(ValidationError) as exc:
        cds_models.UsageSegment.model_validate(data)
    errors = exc.value.errors()
    assert errors and all(e["loc"][:3] == ("formats", 0, "electric_usage") for e in errors)
    assert all(e["loc"][3] == "direction" for e in errors)


def test_unknown_units_stay_strings_inside_known_formats():
    data = copy.deepcopy(SEGMENT)
    data["formats"][0]["units"] = "GWh"
    fmt = cds_models.UsageSegment.model_validate(data).formats[0]
    assert fmt.units == "GWh" and type(fmt.units) is str


def test_missing_measurements_are_null_entries():
    seg = cds_models.UsageSegment.model_validate(SEGMENT)
    assert seg.values[1][0] is None
    assert seg.values[0][0] == {"eu": 1.5}


@pytest.fixture(scope="module")
def validator(spec):
    return PayloadValidator(spec)


KNOWN_ONLY = {
    **SEGMENT,
    "formats": SEGMENT["formats"][:1],
    "values": [[{"eu": 1.5}], [None]],
}


def test_valid_segment_has_no_problems(validator):
    assert validator.problems("UsageSegment", KNOWN_ONLY) == []


def test_strict_validation_rejects_what_clients_would_merely_tolerate(validator):
    """A Server validates strictly what it emits: no undeclared value types or fields."""
    problems = validator.problems("UsageSegment", SEGMENT)
    assert any(p.startswith("$.formats[1]") for p in problems)


def test_value_set_must_match_formats(validator):
    data = copy.deepcopy(KNOWN_ONLY)
    data["values"][1] = [{"eu": 1.0}, {"eu": 2.0}]
    assert "$.values[1]: 2 entries but 1 formats" in validator.problems("UsageSegment", data)


def test_duration_must_match_interval_times_value_sets(validator):
    data = copy.deepcopy(KNOWN_ONLY)
    data["segment_end"] = "2025-01-01T01:00:00Z"
    problems = validator.problems("UsageSegment", data)
    assert any(
        "segment_end - segment_start is 3600s but interval x 2 value sets is 1800s" in p
        for p in problems
    )


def test_value_objects_must_match_their_format(validator):
    data = copy.deepcopy(KNOWN_ONLY)
    data["values"][0][0] = {"ed": 3.0}  # a demand value where the format says electric usage
    problems = validator.problems("UsageSegment", data)
    assert any(p.startswith("$.values[0][0]: not a valid ElectricUsageValue") for p in problems)


def test_invariants_apply_inside_listings(validator):
    data = copy.deepcopy(KNOWN_ONLY)
    data["values"].append([])
    listing = {"usage_segments": [data], "next": None, "previous": None}
    problems = validator.problems("UsageSegmentListing", listing)
    assert "$.usage_segments[0].values[2]: 0 entries but 1 formats" in problems
