"""Copying JSON-like values (dicts, lists, scalars), the one kind of data examples, schemas and
patches are, whole or without some of a schema's keywords.

``copy.deepcopy`` handles any object graph (memo table, ``__deepcopy__`` lookups per node) and
was a tenth of a generation run; for trees of dicts and lists of immutable scalars a plain
recursion gives the same independent copy several times faster.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def json_copy(value: Any) -> Any:
    """An independent copy of ``value``; anything but dicts, lists and immutable scalars is
    handed to ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


#: JSON Schema (and OpenAPI ``components``) keywords whose values map names to schemas: their
#: keys are names, never taken for keywords.
SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas", "schemas"})


def schema_without(
    schema: Any, drop: Callable[[str], bool], verbatim: frozenset[str], names: bool = False
) -> Any:
    """A copy of ``schema`` without the keywords ``drop`` picks, at every depth. The values of
    ``verbatim`` keywords (data such as ``enum``, or subschemas to keep whole) are kept as they
    are; ``names``: ``schema`` itself maps names to schemas."""
    if isinstance(schema, list):
        return [schema_without(item, drop, verbatim) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if names:
        return {name: schema_without(sub, drop, verbatim) for name, sub in schema.items()}
    return {
        key: value if key in verbatim else schema_without(value, drop, verbatim, key in SCHEMA_MAPS)
        for key, value in schema.items()
        if not drop(key)
    }
