"""The JSON and YAML writers of ``generated/`` (cdsgen.serialize): the same text as the
standard library and PyYAML write (YAML without anchors and aliases)."""

from __future__ import annotations

import json

import pytest
import yaml
from cdsgen.cache import flush_memo_tables
from cdsgen.serialize import to_json, to_yaml

SHARED = {"type": "string", "enum": ["a", "b"]}
SAMPLES = [
    {
        "openapi": "3.1.0",
        "text": "Zählerstand — “quoted” and 'single' \u2028 line\nbreaks\tand: colons # hash",
        "long": "word " * 60,
        "numbers": [0, -1, 2**62, 0.5, 100.0, 1e20, -0.0, 3.14159],
        "flags": [True, False, None],
        "yaml-ish": ["yes", "no", "on", "null", "~", "1.0", "0x1F", "2026-01-01", "", " lead"],
        "empty": [{}, []],
        "shared": [SHARED, SHARED, {"inner": SHARED}],
        "nested": {"a": {"b": {"c": [[1, 2], {"d": "e"}]}}},
        "key with spaces": 1,
        "?": "question",
    },
    [],
    {},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_json_is_the_standard_librarys_text(data):
    """…with invisible characters (here U+2028) written as escapes, as ``textsafe`` asks."""
    expected = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert to_json(data) == expected.replace("\u2028", "\\u2028")
    assert json.loads(to_json(data)) == data


def test_json_keeps_integers_beyond_64_bits():
    assert json.loads(to_json({"big": 2**70})) == {"big": 2**70}


class _NoAliases(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    def ignore_aliases(self, data):
        return True


def _pyyaml(data) -> str:
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)


@pytest.mark.parametrize("data", SAMPLES)
def test_yaml_is_pyyamls_text(data):
    assert to_yaml(data) == _pyyaml(data)
    assert yaml.safe_load(to_yaml(data)) == data


def test_yaml_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="set"):
        to_yaml({"a": {1, 2}})


def test_yaml_writes_shared_sub_trees_where_they_stand():
    """Sub-trees the emitters share are written in full each time (no ``&id`` anchors, which
    some OpenAPI tools do not resolve), fresh and from the cache alike."""
    part = {"type": "string"}
    shared = {"a": part, "b": part}
    copied = {"a": dict(part), "b": dict(part)}
    for data in (shared, copied, shared, copied):
        assert to_yaml(data) == _pyyaml(copied)
    assert "&id" not in to_yaml(shared)


def _big_tree() -> dict:
    """Mappings past the size written entry by entry, with keys that need quotes, strings
    folded at the width deep down, and small mappings between big ones."""
    long = "a long description that libyaml folds at the line width " * 6
    schema = {"type": "object", "description": long, "properties": {"x": {"description": long}}}
    return {
        "openapi": "3.1.0",
        "paths": {
            f"/things/{{id{i}}}": {"get": {"summary": long, "responses": {"200": schema}}}
            for i in range(20)
        },
        "components": {
            "schemas": {f"Thing{i}": schema for i in range(30)},
            "key: with colon": {f"n{i}": i for i in range(3)},
            "?": {str(i): {"deep": {"deeper": [long, {"yes": "no"}]}} for i in range(40)},
        },
        "x-empty": {},
    }


@pytest.mark.parametrize("name", ["cds.openapi.json", "cds-wg3-01.openapi.json", "big"])
def test_yaml_written_entry_by_entry_is_the_whole_trees_text(name, root, tmp_path, monkeypatch):
    """Large mappings are written entry by entry and each entry's text is cached: the texts
    joined are PyYAML's text of the whole tree, from a cold cache and from a warm one."""
    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path / "cache"))
    if name == "big":
        data = _big_tree()
    else:
        data = json.loads((root / "generated/openapi" / name).read_text(encoding="utf-8"))
    expected = _pyyaml(data)
    assert to_yaml(data) == expected
    assert to_yaml(data) == expected
    flush_memo_tables()
    assert list((tmp_path / "cache").rglob("*.json")), "nothing was cached"
