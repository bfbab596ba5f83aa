"""The models' JSON parse puts the cyclic garbage collector's automatic passes off while it runs
(``cds_models._collector``): it must set back exactly what it found, on error too, leave the
application's own collector settings alone, and never pause longer than one parse."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator

import cds_models
import pytest
from pydantic import ValidationError, ValidationInfo, field_validator

ENTRY = {  # a Coverage Entry: a small model, enough to run a validator mid-parse
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


def padded(data: dict[str, object]) -> str:
    """``data`` as JSON long enough to be parsed with the pause (unknown fields are kept)."""
    return json.dumps({**data, "exampleutility_notes": "x" * cds_models._base.PAUSE_FROM})


RAW = padded(ENTRY)
#: the thresholds during a parse, from the test's (700, 10, 10)
PAUSED = (0, 10, 10)

#: what :class:`Probe` runs while it parses (its ``name`` field is validated mid-parse)
during_parse: list[Callable[[], None]] = []


class Probe(cds_models.CoverageEntry):
    """A model that runs ``during_parse`` in the middle of its parse."""

    @field_validator("name")
    @classmethod
    def _probe(cls, value: str) -> str:
        for action in during_parse:
            action()
        return value


@pytest.fixture(autouse=True)
def settings() -> Iterator[tuple[int, ...]]:
    """Known collector settings for each test, and the process's own ones back afterwards."""
    found, enabled = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(700, 10, 10)
    gc.enable()
    during_parse.clear()
    yield (700, 10, 10)
    during_parse.clear()
    gc.set_threshold(*found)
    (gc.enable if enabled else gc.disable)()


def test_every_model_parses_json_with_the_pause():
    assert issubclass(cds_models.UsageSegment, cds_models._base.CdsModel)
    assert issubclass(cds_models.UsageSegmentListing, cds_models._base.CdsModel)
    seen: list[tuple[int, ...]] = []
    during_parse.append(lambda: seen.append(gc.get_threshold()))
    Probe.model_validate_json(RAW)
    assert seen == [PAUSED]


def test_short_json_is_parsed_without_the_pause():
    seen: list[tuple[int, ...]] = []
    during_parse.append(lambda: seen.append(gc.get_threshold()))
    Probe.model_validate_json(json.dumps(ENTRY))
    assert seen == [(700, 10, 10)]


def test_the_thresholds_are_set_back_after_a_parse(settings):
    Probe.model_validate_json(RAW)
    assert gc.get_threshold() == settings
    assert gc.isenabled()


@pytest.mark.parametrize(
    "raw", ["{not json" + padded(ENTRY), padded({**ENTRY, "country": 5}), padded({"id": "x"})]
)
def test_the_thresholds_are_set_back_after_a_failed_parse(settings, raw):
    with pytest.raises(ValidationError):
        Probe.model_validate_json(raw)
    assert gc.get_threshold() == settings


def test_an_error_raised_mid_parse_sets_the_thresholds_back(settings):
    def fail() -> None:
        raise RuntimeError("a validator failed")

    during_parse.append(fail)
    with pytest.raises(RuntimeError, match="a validator failed"):
        Probe.model_validate_json(RAW)
    assert gc.get_threshold() == settings


def test_options_are_passed_on():
    contexts: list[object] = []

    class Contextual(cds_models.CoverageEntry):
        @field_validator("name")
        @classmethod
        def _context(cls, value: str, info: ValidationInfo) -> str:
            contexts.append(info.context)
            return value

    entry = Contextual.model_validate_json(RAW, strict=True, context={"any": "thing"})
    assert entry.name == ENTRY["name"] and contexts == [{"any": "thing"}]


def test_a_disabled_collector_stays_disabled(settings):
    gc.disable()
    Probe.model_validate_json(RAW)
    assert not gc.isenabled()
    during_parse.append(gc.disable)  # disabled by the application in the middle of a parse
    gc.enable()
    Probe.model_validate_json(RAW)
    assert not gc.isenabled()
    assert gc.get_threshold() == settings


def test_suspended_automatic_collections_stay_suspended():
    gc.set_threshold(0, 5, 5)
    Probe.model_validate_json(RAW)
    assert gc.get_threshold() == (0, 5, 5)


def test_thresholds_the_application_sets_mid_parse_are_kept():
    during_parse.append(lambda: gc.set_threshold(2000, 20, 20))
    Probe.model_validate_json(RAW)
    assert gc.get_threshold() == (2000, 20, 20)


def test_a_nested_parse_keeps_the_pause_until_the_outer_one_ends(settings):
    seen: list[tuple[int, ...]] = []

    def nested() -> None:
        during_parse.clear()
        cds_models.CoverageEntry.model_validate_json(RAW)
        seen.append(gc.get_threshold())

    during_parse.append(nested)
    Probe.model_validate_json(RAW)
    assert seen == [PAUSED]
    assert gc.get_threshold() == settings


def test_the_parse_that_paused_ends_the_pause_while_other_threads_still_parse(settings):
    """A pause never outlasts one parse, however many threads keep parsing."""
    first_inside, second_inside, first_done = (
        threading.Event(),
        threading.Event(),
        threading.Event(),
    )
    seen: dict[str, tuple[int, ...]] = {}

    def first_waits() -> None:
        if threading.current_thread().name == "first":
            first_inside.set()
            assert second_inside.wait(10)
            seen["first, with the second inside"] = gc.get_threshold()
        else:
            second_inside.set()
            assert first_done.wait(10)
            seen["second, after the first ended"] = gc.get_threshold()

    during_parse.append(first_waits)
    threads = [
        threading.Thread(target=Probe.model_validate_json, args=(RAW,), name="first"),
        threading.Thread(target=Probe.model_validate_json, args=(RAW,), name="second"),
    ]
    threads[0].start()
    assert first_inside.wait(10)
    threads[1].start()
    threads[0].join(10)
    assert not threads[0].is_alive()
    first_done.set()
    threads[1].join(10)
    assert not threads[1].is_alive()
    assert seen == {
        "first, with the second inside": PAUSED,
        "second, after the first ended": settings,
    }
    assert gc.get_threshold() == settings


def test_no_pass_runs_during_the_parse_and_the_pass_due_runs_after_it():
    """Nothing is skipped: the pass put off runs once the parse ends."""
    passes: list[str] = []
    where = ["before"]
    gc.callbacks.append(lambda phase, info: passes.append(where[0]) if phase == "start" else None)
    made: list[list[None]] = []

    def allocate() -> None:
        where[0] = "during"
        made.extend([] for _ in range(20_000))  # some 28 passes' worth

    during_parse.append(allocate)
    gc.collect()
    passes.clear()
    try:
        Probe.model_validate_json(RAW)
        where[0] = "after"
        garbage = [[] for _ in range(10)]  # the first new containers after it start the pass
    finally:
        gc.callbacks.pop()
    assert passes == ["after"] and garbage
