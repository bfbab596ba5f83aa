"""The models' JSON parse takes Value Sets in bulk (``cds_models._bulk``): its result must be
pydantic's own, value for value and type for type, and every error pydantic's own, word for word.
"pydantic's own" is ``pydantic.BaseModel.model_validate_json`` called on the same class."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar

import cds_models
import pytest
from cds_models import _base, _bulk
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import from_json
from typing_extensions import TypeAliasType

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from parse_usage import year_of_usage  # noqa: E402

Segment = cds_models.UsageSegment
Listing = cds_models.UsageSegmentListing


def own(cls: type[BaseModel], raw: str | bytes, **options: Any) -> BaseModel:
    """pydantic's own parse of ``raw`` into ``cls``, without the bulk path."""
    return BaseModel.model_validate_json.__func__(cls, raw, **options)


def typed(value: Any) -> Any:
    """``value`` spelt out with every type, the fields set and the extra fields of models."""
    if isinstance(value, BaseModel):
        return (
            type(value),
            {name: typed(item) for name, item in value.__dict__.items()},
            sorted(value.model_fields_set),
            typed(value.model_extra),
        )
    if isinstance(value, list):
        return [list, *map(typed, value)]
    if isinstance(value, dict):
        return (dict, [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


@pytest.fixture(autouse=True)
def short_json_too(monkeypatch) -> None:
    """The bulk path for the short JSON of most tests as well."""
    monkeypatch.setattr(_base, "BULK_FROM", 0)


@pytest.fixture
def bulk_parses(monkeypatch) -> list[type]:
    """The classes parsed by the bulk path during the test."""
    seen: list[type] = []
    take = _bulk.take

    def spy(data: dict[str, Any], plan: _bulk.BulkPlan) -> _bulk.Taken | None:
        found = take(data, plan)
        if found is not None:
            seen.append(plan)
        return found

    monkeypatch.setattr(_base, "take", spy)
    return seen


def assert_same(cls: type[BaseModel], raw: str | bytes, **options: Any) -> BaseModel:
    ours = cls.model_validate_json(raw, **options)
    assert typed(ours) == typed(own(cls, raw, **options))
    return ours


def assert_same_error(cls: type[BaseModel], raw: str | bytes, **options: Any) -> None:
    with pytest.raises(ValidationError) as ours:
        cls.model_validate_json(raw, **options)
    with pytest.raises(ValidationError) as theirs:
        own(cls, raw, **options)
    assert ours.value.errors() == theirs.value.errors()
    assert ours.value.title == theirs.value.title and str(ours.value) == str(theirs.value)


SEGMENT = year_of_usage()
SEGMENT_SHORT = {**SEGMENT, "values": SEGMENT["values"][:3]}
LISTING = {
    "usage_segments": [SEGMENT_SHORT, {**SEGMENT_SHORT, "cds_usagesegment_id": "seg-2"}],
    "next": "https://example.com/usage-segments?page=2",
    "previous": None,
}


# --- which fields are taken in bulk -------------------------------------------------------


def test_the_value_sets_are_found_from_the_schema():
    assert _bulk.bulk_plan(Segment) == _bulk.BulkPlan(value_sets=("values",))
    listing = _bulk.bulk_plan(Listing)
    assert listing == _bulk.BulkPlan(listed=(("usage_segments", _bulk.bulk_plan(Segment)),))
    planned = {
        name
        for name in dir(cds_models)
        if isinstance(cls := getattr(cds_models, name), type)
        and issubclass(cls, BaseModel)
        and _bulk.bulk_plan(cls) is not None
    }
    assert planned == {"UsageSegment", "UsageSegmentListing"}


class MinOneValueSet(Segment):
    values: Annotated[list[list[cds_models.ValueObject | None]], Field(min_length=1)]


class ShortValueSets(Segment):
    values: list[Annotated[list[cds_models.ValueObject | None], Field(max_length=4)]]


class Aliased(Segment):
    values: Annotated[list[list[cds_models.ValueObject | None]], Field(alias="vals")]


class Strict(Segment):
    model_config = ConfigDict(strict=True)


class Checked(Segment):
    @model_validator(mode="after")
    def _check(self) -> Checked:
        assert len(self.values) != 0
        return self


class PostInit(Segment):
    def model_post_init(self, context: Any) -> None:
        self.__dict__["seen"] = len(self.values)


@pytest.mark.parametrize(
    "cls", [MinOneValueSet, ShortValueSets, Aliased, Strict, Checked, PostInit]
)
def test_a_constrained_or_checked_class_is_parsed_by_pydantic_alone(cls, bulk_parses):
    """A constraint, an alias, strictness or a validator of the class: no bulk path."""
    assert _bulk.bulk_plan(cls) is None
    raw = json.dumps({**SEGMENT_SHORT, "vals": SEGMENT_SHORT["values"]})
    assert_same(cls, raw)
    assert bulk_parses == []


Deep = TypeAliasType("Deep", dict[str, "Deep"])  # a type that contains itself


class Nested(cds_models.CdsModel):
    """A model listing models like itself, and a decimal (read from JSON text of its own)."""

    children: list[Nested]
    segments: list[Segment]
    amount: Decimal | None = None


def test_a_model_listing_itself_takes_the_value_sets_of_the_others(bulk_parses):
    segments = _bulk.bulk_plan(Segment)
    assert _bulk.bulk_plan(Nested) is None  # for its decimal
    assert _bulk.bulk_plan(Nested.__bases__[0]) is None  # CdsModel itself has no fields

    class Tree(cds_models.CdsModel):
        children: list[Tree]
        segments: list[Segment]
        deep: Deep | None = None

    assert _bulk.bulk_plan(Tree) == _bulk.BulkPlan(listed=(("segments", segments),))
    raw = json.dumps(
        {
            "children": [{"children": [], "segments": []}],
            "segments": [SEGMENT_SHORT],
            "deep": {"a": {"b": {}}},
        }
    )
    assert_same(Tree, raw)
    assert_same(Nested, json.dumps({"children": [], "segments": [], "amount": 0.1}))
    assert len(bulk_parses) == 1


def test_a_constrained_class_reports_its_constraint():
    assert_same_error(MinOneValueSet, json.dumps({**SEGMENT_SHORT, "values": []}))
    assert_same_error(ShortValueSets, json.dumps({**SEGMENT_SHORT, "values": [[None] * 5]}))


# --- the same result ----------------------------------------------------------------------


def test_a_year_of_usage_parses_as_pydantic_parses_it(bulk_parses):
    raw = json.dumps(SEGMENT)
    segment = assert_same(Segment, raw)
    assert len(bulk_parses) == 1
    assert segment.values == SEGMENT["values"]
    assert isinstance(segment.formats[0], cds_models.ElectricUsageValueFormat)
    assert segment.formats[3].model_extra == {"units": "kWh", "colour": "green"}


def test_short_json_goes_to_pydantics_own_parse(monkeypatch, bulk_parses):
    monkeypatch.setattr(_base, "BULK_FROM", 2048)
    short = json.dumps({**SEGMENT, "values": SEGMENT["values"][:1]})
    assert len(short) < 2048
    assert_same(Segment, short)
    assert bulk_parses == []
    assert_same(Segment, json.dumps({**SEGMENT, "values": SEGMENT["values"][:30]}))
    assert len(bulk_parses) == 1


def test_a_listing_takes_the_value_sets_of_every_segment(bulk_parses):
    listing = assert_same(Listing, json.dumps(LISTING))
    assert len(bulk_parses) == 1
    assert [s.cds_usagesegment_id for s in listing.usage_segments] == ["seg-2025", "seg-2"]
    assert all(s.values == SEGMENT_SHORT["values"] for s in listing.usage_segments)
    assert_same(Listing, json.dumps({**LISTING, "usage_segments": []}))


def example_bodies(node: Any) -> list[dict[str, Any]]:
    """Every JSON object under ``node`` that is a Usage Segment or a listing of them."""
    found = []
    if isinstance(node, dict):
        if "usage_segments" in node or ("values" in node and "formats" in node):
            found.append(node)
        for value in node.values():
            found.extend(example_bodies(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(example_bodies(value))
    return found


def test_every_published_example_with_value_sets_parses_as_pydantic_parses_it(
    openapi, spec, bulk_parses
):
    """Every example body with Value Sets in the OpenAPI and in ``spec/``: the same model, or
    (a published body with errata) the same error."""
    bodies = example_bodies(openapi["paths"]) + example_bodies(
        [ex.response.body for ex in spec.examples.values() if ex.response]
    )
    parsed = failed = 0
    for body in bodies:
        cls = Listing if "usage_segments" in body else Segment
        try:
            own(cls, json.dumps(body))
        except ValidationError:
            assert_same_error(cls, json.dumps(body))
            failed += 1
        else:
            assert_same(cls, json.dumps(body))
            parsed += 1
    assert parsed >= 3 and failed >= 1 and len(bulk_parses) == parsed + failed


@pytest.mark.parametrize(
    "change",
    [
        {"exampleutility_flag": {"nested": [1, 2.5, None, True]}},  # an extra field
        {"interval": 900},  # an int for a float
        {"interval": "900.5"},  # a number in a string, read leniently in both
        {"cds_created": "2026-01-01T00:00:00+02:00"},
        {"cds_created": 1767225600},  # a Unix time
        {"formats": [{"id": "a", "type": "electric_usage", "units": "kWh", "direction": "up"}]},
        {"formats": [{"id": "a", "type": "water_usage", "units": "m3", "extra": [1]}]},
        {"values": [[{"eu": 1e400, "big": 10**30, "neg": -0.0, "nan": float("nan")}]]},
        {"values": [[{"nested": {"a": [1, {"b": None}]}, "s": "\u00e9\ud83d\ude00"}]]},
        {"values": [[], [None, None], []]},
        {"values": []},
    ],
)
def test_edge_values_parse_as_pydantic_parses_them(change, bulk_parses):
    assert_same(Segment, json.dumps({**SEGMENT_SHORT, **change}))
    assert len(bulk_parses) == 1


def test_duplicate_keys_parse_as_pydantic_parses_them(bulk_parses):
    raw = json.dumps(SEGMENT_SHORT)[:-1]
    raw += ', "interval": 60, "values": [[{"eu": 1, "eu": 2}]], "related_accounts": ["b"]}'
    segment = assert_same(Segment, raw)
    assert segment.interval == 60 and segment.values == [[{"eu": 2}]]


@pytest.mark.parametrize("data", [json.dumps(SEGMENT_SHORT), json.dumps(SEGMENT_SHORT).encode()])
def test_str_bytes_and_bytearray_parse_alike(data):
    assert_same(Segment, data)
    assert_same(Segment, bytearray(data.encode() if isinstance(data, str) else data))


# --- options ------------------------------------------------------------------------------


class Recording(Segment):
    """A segment that records the options ``model_validate`` was given."""

    calls: ClassVar = []

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Recording:
        cls.calls.append(options)
        return super().model_validate(obj, **options)


def test_options_are_passed_on(bulk_parses):
    Recording.calls.clear()
    raw = json.dumps(SEGMENT_SHORT)
    assert_same(Recording, raw, context={"any": "thing"}, strict=False, extra="ignore")
    assert Recording.calls == [{"context": {"any": "thing"}, "strict": False, "extra": "ignore"}]
    assert len(bulk_parses) == 1


@pytest.mark.parametrize(
    "options", [{"strict": True}, {"by_alias": True}, {"by_name": True}, {"unknown": 1}]
)
def test_options_it_does_not_handle_go_to_pydantic(options, bulk_parses):
    raw = json.dumps({**SEGMENT_SHORT, "cds_created": "2026-01-01T00:00:00Z"})
    try:
        expected = typed(own(Segment, raw, **options))
    except (ValidationError, TypeError) as error:
        with pytest.raises(type(error)) as ours:
            Segment.model_validate_json(raw, **options)
        assert str(ours.value) == str(error)
    else:
        assert typed(Segment.model_validate_json(raw, **options)) == expected
    assert bulk_parses == []


def test_extra_forbid_reports_the_unknown_field():
    assert_same_error(Segment, json.dumps({**SEGMENT_SHORT, "x": 1}), extra="forbid")


# --- the same errors ----------------------------------------------------------------------


def segment_with(**change: Any) -> str:
    return json.dumps({**SEGMENT_SHORT, **change})


def segment_without(name: str) -> str:
    return json.dumps({k: v for k, v in SEGMENT_SHORT.items() if k != name})


MALFORMED = {
    "values not a list": segment_with(values={"eu": 1}),
    "values a string": segment_with(values="x"),
    "values null": segment_with(values=None),
    "values missing": segment_without("values"),
    "a value set an object": segment_with(values=[{"eu": 1}]),
    "a value set null": segment_with(values=[None]),
    "a value set a number": segment_with(values=[[None], 5]),
    "an item a string": segment_with(values=[[{"eu": 1}, "x"]]),
    "an item a number": segment_with(values=[[1.5]]),
    "an item a list": segment_with(values=[[[{"eu": 1}]]]),
    "an item a boolean": segment_with(values=[[True]]),
    "another field wrong": segment_with(cds_created="yesterday"),
    "another field missing": segment_without("formats"),
    "a format wrong": segment_with(formats=[{"id": "a", "type": "electric_usage"}]),
    "top level a list": json.dumps([SEGMENT_SHORT]),
    "top level a string": '"segment"',
    "top level null": "null",
    "invalid JSON": json.dumps(SEGMENT_SHORT)[:-1],
    "empty": "",
    "trailing text": json.dumps(SEGMENT_SHORT) + " x",
    "not UTF-8": b'{"values": "\xff"}',
    "not JSON text but a number": 5,
    "not JSON text but None": None,
    "not JSON text but a dict": SEGMENT_SHORT,
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED)
def test_a_malformed_segment_raises_pydantics_own_error(raw):
    assert_same_error(Segment, raw)


LISTING_MALFORMED = {
    "segments not a list": {**LISTING, "usage_segments": {"a": SEGMENT_SHORT}},
    "segments missing": {k: v for k, v in LISTING.items() if k != "usage_segments"},
    "a segment not an object": {**LISTING, "usage_segments": [SEGMENT_SHORT, "x"]},
    "a segment's values wrong": {
        **LISTING,
        "usage_segments": [SEGMENT_SHORT, {**SEGMENT_SHORT, "values": [["x"]]}],
    },
    "a segment's values missing": {
        **LISTING,
        "usage_segments": [{k: v for k, v in SEGMENT_SHORT.items() if k != "values"}],
    },
    "a segment's field wrong": {
        **LISTING,
        "usage_segments": [{**SEGMENT_SHORT, "interval": "often"}],
    },
    "next not a URL": {**LISTING, "next": "not a url"},
}


@pytest.mark.parametrize("data", LISTING_MALFORMED.values(), ids=LISTING_MALFORMED)
def test_a_malformed_listing_raises_pydantics_own_error(data):
    assert_same_error(Listing, json.dumps(data))


def test_a_failed_parse_leaves_nothing_behind():
    """The value sets taken out of one parse are not left in what a later one reads."""
    with pytest.raises(ValidationError):
        Segment.model_validate_json(segment_with(cds_created="yesterday"))
    assert_same(Segment, json.dumps(SEGMENT_SHORT))


# --- Python values validate as their JSON does ---------------------------------------------

#: JSON values of every kind, each a field's input in :func:`test_every_field_type_...`
PROBES = [
    "null", "true", "false", "0", "1", "2", "-7", "1.0", "1.5", "0.5", "-0.0", "1e3", "1e20",
    "1e400", "NaN", '"NaN"', '" x "', '"1654041600"', '"2022-06-01T00:00:00.123Z"', '"P1D"',
    "-Infinity", "123456789012345678901234567890", '""', '"x"', '"1"', '"1.5"', '"true"',
    '"yes"', '"off"', '"US"', '"kWh"', '"net"', '"electric_usage"', '"2022-06-01"',
    '"2022-06-01T00:00:00Z"', '"2022-06-01T00:00:00"', '"2022-06-01T00:00:00.1234567+01:00"',
    '"https://example.com/a?b=c"', '"not a url"', "[]", '["x"]', '["kWh", "other"]', "[1, 2]",
    "{}", '{"a": 1}', '{"id": "a", "type": "electric_usage", "units": "kWh"}',
    '{"id": "a", "type": "mystery"}',
]  # fmt: skip


def field_types() -> dict[str, TypeAdapter]:
    """A validator per distinct field type (with its constraints) of every model."""
    found: dict[str, TypeAdapter] = {}
    for name in dir(cds_models):
        cls = getattr(cds_models, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        for info in cls.model_fields.values():
            kind = Annotated[info.annotation, Field(**constraints(info))]
            found.setdefault(repr(kind), TypeAdapter(kind))
    return found


def constraints(info: Any) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for item in info.metadata:
        for key in ("min_length", "max_length", "ge", "le", "gt", "lt", "pattern"):
            if getattr(item, key, None) is not None:
                limits[key] = getattr(item, key)
    return limits


def outcome(validate: Any, value: Any) -> Any:
    try:
        return typed(validate(value))
    except ValidationError as error:
        return ("error", [e["type"] for e in error.errors()])


def test_every_field_type_validates_python_values_from_json_as_it_validates_the_json():
    """The bulk path validates the rest of a model from ``from_json``'s Python values
    (lax, as ``model_validate_json`` is): for every field type the models use, each probe
    must give the same value of the same type as the JSON itself, or fail in both."""
    types = field_types()
    assert len(types) > 50
    for name, adapter in types.items():
        for raw in PROBES:
            as_json = outcome(adapter.validate_json, raw)
            as_python = outcome(adapter.validate_python, from_json(raw))
            if as_json[0] == "error":
                assert as_python[0] == "error", (name, raw)
            else:
                assert as_python == as_json, (name, raw)


def test_each_model_validates_a_published_example_alike_from_python_values(openapi):
    """The same, whole models at once: every response example in the OpenAPI."""
    checked = 0
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {}).get("application/json", {})
                ref = content.get("schema", {}).get("$ref", "")
                cls = getattr(cds_models, ref.rsplit("/", 1)[-1], None)
                for example in content.get("examples", {}).values():
                    if cls is None or "value" not in example:
                        continue
                    raw = json.dumps(example["value"])
                    validator = cls.__pydantic_validator__
                    assert outcome(validator.validate_python, from_json(raw)) == outcome(
                        validator.validate_json, raw
                    )
                    checked += 1
    assert checked >= 20
