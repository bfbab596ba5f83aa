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
