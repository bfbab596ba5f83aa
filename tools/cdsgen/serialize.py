"""JSON and YAML text of the generated descriptions, at C speed.

Every emitter that writes JSON or YAML goes through these two functions, so the bytes of
``generated/`` depend on one place. Both produce exactly what the standard library
(``json.dumps(indent=2, ensure_ascii=False)``) and PyYAML (``yaml.dump(sort_keys=False,
allow_unicode=True, width=100)``) produced before, only faster:

* JSON: ``orjson`` with two-space indentation (the same separators and escaping for the
  plain dict/list/str/number trees the emitters build; see :func:`to_json` for the one
  spelling that differs).
* YAML: the libyaml emitter (``CSafeDumper``) is fed a node graph built by one tight function
  instead of PyYAML's general representer (which dispatches on type through several Python
  calls per node), and the resolver's tag guess is memoised per scalar text, since the same
  keys and words recur thousands of times. Every value is written where it stands: no
  ``&id``/``*id`` anchors and aliases for sub-trees the emitters share, which some OpenAPI
  tools do not resolve.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cdsgen.cache import memo_key, memo_table
from cdsgen.emit.textsafe import INVISIBLE

_Dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def to_json(data: Any) -> str:
    """Indented JSON text with a final newline; non-ASCII characters are kept as they are.

    orjson spells a float below 1e-4 with a short exponent (``1e-7``, not ``1e-07``); both
    are the same JSON number. Integers beyond 64 bits, which orjson refuses, go through the
    standard library."""
    try:
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return _escape_invisible(text)


def _escape_invisible(text: str) -> str:
    """Invisible characters (:data:`~cdsgen.emit.textsafe.INVISIBLE`: controls, line
    separators, bidi overrides) as ``\\u`` escapes; outside strings there are none, and inside
    a JSON or double-quoted YAML string the escape means the same character."""
    return INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_yaml(data: Any, width: int = 100) -> str:
    """Block-style YAML of a JSON-like tree, keys in their order, as ``yaml.dump`` wrote it.

    The libyaml emitter is the floor of this function, and an edit of the source changes
    one schema or operation of a description at a time; so a large mapping is written entry
    by entry (:func:`_yaml_chunks`) and each entry written in an earlier run, found by its
    JSON text and its depth, comes from the user cache (:func:`cdsgen.cache.memo_table`)."""
    if type(data) is not dict or not data:
        return _yaml_text(data, width)
    table = memo_table(f"to_yaml-3 PyYAML {yaml.__version__} {_Dumper.__name__}")
    try:
        return "".join(_yaml_chunks(data, [], width, table))
    except TypeError:  # orjson refuses integers beyond 64 bits: written whole, uncached
        return _yaml_text(data, width)


#: Mappings whose JSON text is longer than this are written entry by entry.
_CHUNK_BYTES = 4096


def _yaml_chunks(mapping: dict[str, Any], path: list[str], width: int, table: Any) -> Any:
    """The YAML lines of each entry of ``mapping``, which sits at ``path`` in the tree.

    An entry is written inside the mappings of its path (then their lines are dropped), so
    it lies at its own column and libyaml folds its long strings where it would have in the
    whole tree: the entries' texts joined are the tree's text."""
    for key, value in mapping.items():
        text = orjson.dumps([len(path), width, key, value])
        if type(value) is dict and len(value) > 1 and len(text) > _CHUNK_BYTES:
            header = _nested_yaml(path, {key: {"": None}}, width).split("\n", 1)[0]
            if header == f"{'  ' * len(path)}{_key_text(key)}:":  # one line, as expected
                yield header + "\n"
                yield from _yaml_chunks(value, [*path, key], width, table)
                continue
        yield table.get(memo_key(text), lambda k=key, v=value: _nested_yaml(path, {k: v}, width))


def _key_text(key: str) -> str | None:
    """How the emitter writes ``key`` as a simple key (quoted if it must be), or ``None``
    when it writes it otherwise (e.g. a long key, as ``? key``)."""
    text = _yaml_text({key: None}, 1000)
    return text.removesuffix(": null\n") if text.endswith(": null\n") else None


def _nested_yaml(path: list[str], mapping: dict[str, Any], width: int) -> str:
    """The lines of ``mapping`` written at ``path`` (the lines of the path dropped)."""
    tree: dict[str, Any] = mapping
    for key in reversed(path):
        tree = {key: tree}
    lines = _yaml_text(tree, width).split("\n")
    return "\n".join(lines[len(path) :])


def _yaml_text(data: Any, width: int) -> str:
    stream = io.StringIO()
    dumper = _FastDumper(stream, allow_unicode=True, width=width, sort_keys=False)
    try:
        dumper.open()
        dumper.serialize(_NodeBuilder().node(data))
        dumper.close()
    finally:
        dumper.dispose()
    return _escape_invisible(stream.getvalue())


class _FastDumper(_Dumper):  # type: ignore[misc, valid-type]
    """The C dumper with the resolver's answer memoised per text."""

    def __init__(self, stream: io.StringIO, **kwargs: Any) -> None:
        super().__init__(stream, **kwargs)
        # An instance attribute hides the method. The emitter asks twice per scalar; a hit
        # in ``lru_cache`` runs no Python code. Collections have one tag each (no path
        # resolvers are registered), and their values are unhashable lists.
        scalar = functools.lru_cache(maxsize=None)(functools.partial(super().resolve, ScalarNode))
        collection = {MappingNode: _MAP, SequenceNode: _SEQ}

        def resolve(kind: type, value: Any, implicit: Any) -> str:
            return scalar(value, implicit) if kind is ScalarNode else collection[kind]

        self.resolve = resolve


class _NodeBuilder:
    """The node tree ``SafeRepresenter`` would build (block style, no sorting), in one
    recursive function; a dict or list object met twice is written twice (no alias)."""

    def node(self, data: Any) -> Node:
        kind = type(data)
        if kind is str:  # only a double-quoted string can hold an escaped invisible character
            return ScalarNode(_STR, data, style='"' if INVISIBLE.search(data) else None)
        if kind is dict:
            pairs = [(self.node(key), self.node(value)) for key, value in data.items()]
            return MappingNode(_MAP, pairs, flow_style=False)
        if kind is list:
            return SequenceNode(_SEQ, [self.node(item) for item in data], flow_style=False)
        if kind is bool:
            return ScalarNode(_BOOL, "true" if data else "false")
        if kind is int:
            return ScalarNode(_INT, str(data))
        if data is None:
            return ScalarNode(_NULL, "null")
        if kind is float:
            return ScalarNode(_FLOAT, _float_text(data))
        raise TypeError(f"cannot write {kind.__name__} as YAML")


def _float_text(value: float) -> str:
    """PyYAML's spelling of a float (``SafeRepresenter.represent_float``)."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text
