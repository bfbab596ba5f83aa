"""One standalone JSON Schema (2020-12) per object, enum and union, plus the meta-schema of
the source format itself for editors.

Each file embeds the definitions it references under ``$defs`` so it can be used alone.
"""

from __future__ import annotations

from typing import Any

from cdsgen import model as m
from cdsgen.schemas import SchemaBuilder
from cdsgen.serialize import to_json

JSONSCHEMA_DIR = "generated/jsonschema"
BASE_ID = "https://cdsgen.dev/schemas/"


def emit_jsonschema(spec: m.Spec, meta_schema: dict[str, Any]) -> dict[str, str]:
    builder = SchemaBuilder(spec, ref_prefix="#/$defs/")
    defs = builder.components()
    out: dict[str, str] = {}
    for name, schema in defs.items():
        needed = _closure(name, defs)
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_ID}{name}.schema.json",
            **schema,
        }
        others = {n: defs[n] for n in needed if n != name}
        if others:
            doc["$defs"] = others
        out[f"{JSONSCHEMA_DIR}/{name}.schema.json"] = _dump(doc)
    out[f"{JSONSCHEMA_DIR}/cdsgen-source.schema.json"] = _dump(meta_schema)
    return out


def _dump(data: Any) -> str:
    return to_json(data)


def _closure(name: str, defs: dict[str, Any]) -> list[str]:
    """Names of all definitions reachable from ``name`` (including itself), sorted."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        n = stack.pop()
        if n in seen or n not in defs:
            continue
        seen.add(n)
        stack.extend(_refs(defs[n]))
    # a self-contained file must also resolve refs inside the root schema as "#/$defs/<self>"
    return sorted(seen)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = []
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                found.append(v.rsplit("/", 1)[-1])
            else:
                found += _refs(v)
        return found
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []
