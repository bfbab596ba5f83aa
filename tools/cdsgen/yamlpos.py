"""YAML loading that remembers where every key and value came from.

PyYAML's (C) composer gives nodes with marks; we build plain Python data from them and keep a
side table ``{path-tuple: Pos}`` so later checks can point at the exact line and column.
Duplicate mapping keys, which PyYAML would silently overwrite, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cdsgen.diagnostics import Diagnostics, Pos

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader  # type: ignore[misc]

PathKey = tuple[str | int, ...]


@dataclass
class LoadedYaml:
    data: Any
    file: str
    #: Position of each value, by path; for mapping entries the position of the key.
    positions: dict[PathKey, Pos] = field(default_factory=dict)
    #: Position of the value itself (not its key), by path.
    value_positions: dict[PathKey, Pos] = field(default_factory=dict)

    def pos(self, path: PathKey) -> Pos:
        """Position of the deepest known prefix of ``path``."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return Pos(self.file, 1, 1)

    def value_pos(self, path: PathKey) -> Pos:
        return self.value_positions.get(tuple(path)) or self.pos(path)


def load_yaml(text: str, file: str, diags: Diagnostics) -> LoadedYaml | None:
    """Parse ``text``; on a syntax error report it with its position and return None."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        diags.error(Pos(file, line, col), f"YAML syntax error: {exc.problem or exc}")
        loader.dispose()
        return None
    out = LoadedYaml({}, file)
    if node is not None:
        out.data = _build(node, (), out, diags, loader)
    loader.dispose()
    return out


def _mark(node: yaml.Node, file: str) -> Pos:
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, path: PathKey, out: LoadedYaml, diags: Diagnostics, loader) -> Any:
    out.value_positions[path] = _mark(node, out.file)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) or key is None else str(key)
            kpos = _mark(key_node, out.file)
            if key in result:
                first = out.positions[path + (key,)]
                diags.error(kpos, f"duplicate key '{key}' (first defined at line {first.line})")
                continue
            out.positions[path + (key,)] = kpos
            result[key] = _build(value_node, path + (key,), out, diags, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            out.positions[path + (i,)] = _mark(item, out.file)
            items.append(_build(item, path + (i,), out, diags, loader))
        return items
    return loader.construct_object(node, deep=True)
