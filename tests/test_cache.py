"""The per-user cache of ``cdsgen generate`` (cdsgen.cache): it saves time and nothing else."""

from __future__ import annotations

import copy

import fastjsonschema
import jinja2
import pytest
from cdsgen.cache import cache_templates, cached_parse, cached_validator
from cdsgen.diagnostics import Diagnostics
from cdsgen.emit.pysource import python_environment
from cdsgen.loader import meta_schema
from cdsgen.yamlpos import load_yaml


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path / "cache"))


def test_compiled_templates_render_the_same_from_the_cache(tmp_path, monkeypatch):
    """A second environment loads the first one's compiled template from the cache folder
    and renders the same text; a cache folder that cannot be written costs nothing else."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.py.j2").write_text("x = {{ value | py }}\n", encoding="utf-8")
    first = python_environment(templates).get_template("t.py.j2").render(value="a")
    assert list((tmp_path / "cache").rglob("*.jinja")), "nothing was cached"
    second = python_environment(templates).get_template("t.py.j2").render(value="a")
    assert first == second == "x = 'a'\n"
    (templates / "t.py.j2").write_text("y = {{ value | py }}\n", encoding="utf-8")
    changed = python_environment(templates).get_template("t.py.j2").render(value="a")
    assert changed == "y = 'a'\n", "a changed template must not come from the cache"

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(blocked))
    env = python_environment(templates)
    assert env.get_template("t.py.j2").render(value="a") == changed


def test_cache_off(monkeypatch):
    monkeypatch.setenv("CDSGEN_CACHE_DIR", "off")
    assert cache_templates(jinja2.Environment()).bytecode_cache is None


def test_parsed_file_comes_back_with_its_positions(tmp_path):
    text = "objects:\n  Thing:\n    summary: A thing.\n"
    first = cached_parse(text, "spec/a.yaml", Diagnostics(), load_yaml)
    assert list((tmp_path / "cache").rglob("*.pickle")), "nothing was cached"
    again = cached_parse(text, "spec/a.yaml", Diagnostics(), load_yaml)
    assert again.data == first.data == {"objects": {"Thing": {"summary": "A thing."}}}
    assert again.positions == first.positions and again.value_positions == first.value_positions
    other = cached_parse(text, "spec/b.yaml", Diagnostics(), load_yaml)
    assert {p.path for p in other.positions.values()} == {"spec/b.yaml"}


def test_a_file_with_problems_reports_them_every_time():
    text = "objects:\n  Thing: {}\n  Thing: {}\n"
    for _ in range(2):
        diags = Diagnostics()
        cached_parse(text, "spec/dup.yaml", diags, load_yaml)
        assert [d.message for d in diags.errors] == [
            "duplicate key 'Thing' (first defined at line 2)"
        ]


def test_cached_validator_judges_as_fastjsonschema_does():
    schema = meta_schema()
    reference = fastjsonschema.compile(copy.deepcopy(schema))
    for _ in range(2):  # generated, then from the cache
        validate = cached_validator(copy.deepcopy(schema))
        good = {"objects": {"Thing": {"anchor": "thing", "title": "Thing", "summary": "S."}}}
        bad = {"objects": {"Thing": {"title": 5}}}
        assert _verdict(validate, good) == _verdict(reference, good)
        assert _verdict(validate, bad) == _verdict(reference, bad) != "valid"


def _verdict(validate, data) -> str:
    try:
        validate(copy.deepcopy(data))
    except fastjsonschema.JsonSchemaException as exc:
        return f"invalid: {exc.message}"
    return "valid"


# -- datamodel-code-generator's output, cached by the schemas' shape ---------------------------
def test_generator_output_is_reused_after_a_change_of_wording(spec, monkeypatch, tmp_path):
    """A changed description finds the generator's earlier output (no process runs) and gives
    the models a run without any cache gives; a changed shape runs the generator."""
    from cdsgen.emit.codegen import PendingCodegen
    from cdsgen.emit.models import start_models
    from cdsgen.emit.openapi import build_openapi

    def models_of(s, cached: bool) -> tuple[str, bool]:
        monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path / "cache") if cached else "off")
        pending = start_models(build_openapi(s, None), PendingCodegen())
        return pending.result()["generated/python/cds_models/__init__.py"], pending.from_cache

    first, from_cache = models_of(spec, cached=True)
    assert not from_cache

    reworded = _with_field(spec, "MeterDevice", "meter_number", summary="Newly worded summary.")
    again, from_cache = models_of(reworded, cached=True)
    assert from_cache, "a change of wording ran the generator"
    assert "Newly worded summary." in again and again != first
    assert again == models_of(reworded, cached=False)[0]

    reshaped = _with_field(spec, "MeterDevice", "meter_number", required=True)
    changed, from_cache = models_of(reshaped, cached=True)
    assert not from_cache, "a change of shape must run the generator"
    assert changed != first


def _with_field(spec, obj: str, name: str, **changes):
    """A copy of ``spec`` whose field ``obj.name`` has ``changes``."""
    import copy
    import dataclasses

    changed = copy.deepcopy(spec)
    fields = changed.objects[obj].fields
    fields[name] = dataclasses.replace(fields[name], **changes)
    return changed


def test_generator_is_not_started_ahead_when_the_last_input_is_cached(tmp_path, monkeypatch):
    """The process is started before the source loads unless the project's last input is
    still cached (it would most likely be thrown away)."""
    from cdsgen.emit import codegen

    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "spec"
    project.mkdir()
    ahead = codegen.PendingCodegen(project)
    assert ahead.started
    ahead.cancel()
    entry = tmp_path / "cache" / "codegen" / "0123.py"
    entry.parent.mkdir(parents=True)
    entry.write_text("x = 1\n", encoding="utf-8")
    codegen._remember_last_run(project, entry)
    assert not codegen.PendingCodegen(project).started
    entry.unlink()
    later = codegen.PendingCodegen(project)
    assert later.started
    later.cancel()


# -- memo tables -----------------------------------------------------------------------------
def test_memo_table_keeps_what_the_last_run_used(tmp_path):
    from cdsgen.cache import MemoTable

    made: list[str] = []

    def make(value: str):
        return lambda: made.append(value) or value

    first = MemoTable(tmp_path, "kind", limit=3)
    assert [first.get(k, make(k)) for k in ("a", "b", "c", "d")] == ["a", "b", "c", "d"]
    first.flush()
    second = MemoTable(tmp_path, "kind", limit=3)
    assert second.get("b", make("B")) == "b" and second.get("e", make("e")) == "e"
    second.take({"f": "f"})  # used by a worker process of the same run
    second.flush()
    third = MemoTable(tmp_path, "kind", limit=3)
    assert [third.get(k, make(k.upper())) for k in ("b", "e", "f", "a")] == ["b", "e", "f", "A"]
    assert made == ["a", "b", "c", "d", "e", "A"]


def test_memo_table_survives_a_damaged_file(tmp_path):
    from cdsgen.cache import MemoTable

    table = MemoTable(tmp_path, "kind", limit=10)
    table.get("a", lambda: "a")
    table.flush()
    (path,) = (tmp_path / "memo").glob("*.json")
    path.write_bytes(b"{not json")
    assert MemoTable(tmp_path, "kind", limit=10).get("a", lambda: "again") == "again"


def test_verdicts_ignore_annotations_but_keep_fields_named_like_them():
    """Verdicts are found by the schema without its annotations (a change of wording keeps
    them); a property that happens to be called ``description`` is part of the schema."""
    from cdsgen.validate import verdict_relevant

    schema = {
        "description": "Words.",
        "x-cds-anchor": "a",
        "properties": {"description": {"type": "string", "title": "T"}},
        "required": ["description"],
        "enum": [{"description": "data"}],
        "not": {"description": "quoted in messages", "type": "null"},
    }
    assert verdict_relevant(schema) == {
        "properties": {"description": {"type": "string"}},
        "required": ["description"],
        "enum": [{"description": "data"}],
        "not": {"description": "quoted in messages", "type": "null"},
    }


def test_remembered_verdicts_are_the_verdicts(spec, tmp_path, monkeypatch):
    from cdsgen.validate import PayloadValidator

    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path / "cache"))
    bad = {"cds_meterdevice_id": 5, "unexpected": True}
    plain = PayloadValidator(spec, strict=True)
    for _ in range(2):  # judged, then remembered
        remembered = PayloadValidator(spec, strict=True, memo=True)
        assert remembered.schema_problems("MeterDevice", bad) == plain.schema_problems(
            "MeterDevice", bad
        )
        assert remembered.schema_valid("MeterDevice", bad) is False
