"""The fields a JSON parse of a model may take in bulk, found once per class from its schema.

A usage segment's ``values`` are lists of lists of JSON objects or null (the Value Objects,
plain ``dict[str, Any]``: their type is chosen by the matching ``formats`` entry, not by the
value). For such a field pydantic checks a shape and nothing else, yet it checks it item by
item, some 175,000 of them (lists and dicts) in a year of 15-minute usage.
Python's built-ins check the same shape at C speed (:func:`value_sets`).

Which fields qualify is read from the field's core schema, the very check pydantic would
run: exactly a list of lists of nullable ``dict[str, Any]``, without any constraint (no
lengths, no strictness, no alias, no validator), so a field with a constraint is never taken.
A field holding a list of models that have such fields (a listing's ``usage_segments``) is
taken item by item. A class qualifies only when the rest of it validates the same from
Python values as from JSON: its schema is a plain model (no model validator, no
``model_post_init``), nothing in it is strict or read from JSON apart (a decimal), and it
calls no validator other than pydantic's own (``tests/test_models_parsing.py`` checks every
field type the models use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from types import NoneType
from typing import Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel

#: the core schema of a list of lists of JSON objects or null, without metadata and refs
VALUE_SETS = {
    "type": "list",
    "items_schema": {
        "type": "list",
        "items_schema": {
            "type": "nullable",
            "schema": {
                "type": "dict",
                "keys_schema": {"type": "str"},
                "values_schema": {"type": "any"},
            },
        },
    },
}

#: schema keys that only describe (JSON Schema text, the name a definition is shared by)
_DESCRIPTIVE = frozenset({"metadata", "ref"})


@dataclass(frozen=True)
class BulkPlan:
    """What a parse of one class takes out of the JSON before validating the rest."""

    #: fields holding Value Sets (their JSON key is the field name: no alias)
    value_sets: tuple[str, ...] = ()
    #: fields holding a list of models with plans of their own
    listed: tuple[tuple[str, BulkPlan], ...] = field(default=())


@dataclass
class Taken:
    """What :func:`take` took out of one JSON object, to put into the validated model."""

    value_sets: list[tuple[str, list[Any]]] = field(default_factory=list)
    listed: list[tuple[str, list[Taken]]] = field(default_factory=list)


#: each class's plan, with the core schema it was read from (a rebuilt class is read again)
_plans: WeakKeyDictionary[type, tuple[object, BulkPlan | None]] = WeakKeyDictionary()

#: schemas that read JSON by a way of their own (a JSON number's text for a decimal)
_READ_APART = frozenset({"json-or-python", "decimal"})


def bulk_plan(cls: type[BaseModel]) -> BulkPlan | None:
    """The plan of ``cls``, or ``None`` when its JSON parse has nothing to take in bulk."""
    schema = cls.__pydantic_core_schema__
    known = _plans.get(cls)
    if known is not None and known[0] is schema:
        return known[1]
    if not cls.__pydantic_complete__:  # forward references pending: pydantic will say
        return None
    _plans[cls] = (schema, None)  # while it is made: a model listing itself takes nothing there
    plan = _plan(cls)
    _plans[cls] = (schema, plan)
    return plan


def _plan(cls: type[BaseModel]) -> BulkPlan | None:
    schema = cls.__pydantic_core_schema__
    definitions = {d["ref"]: d for d in schema.get("definitions", ())}
    model = _resolved(schema["schema"] if schema["type"] == "definitions" else schema, definitions)
    if not _plain_model(model, cls) or not _same_from_python(schema):
        return None
    value_sets: list[str] = []
    listed: list[tuple[str, BulkPlan]] = []
    for name, model_field in model["schema"]["fields"].items():
        if set(model_field) - {"type", "schema", "metadata"}:
            continue  # an alias, frozen …: not a field to take
        found = _bare(model_field["schema"], definitions)
        if found == VALUE_SETS:
            value_sets.append(name)
        elif set(found) == {"type", "items_schema"} and found["type"] == "list":
            item = found["items_schema"]
            if item.get("type") == "model" and (inner := bulk_plan(item["cls"])) is not None:
                listed.append((name, inner))
    if not value_sets and not listed:
        return None
    return BulkPlan(tuple(value_sets), tuple(listed))


def _plain_model(model: dict[str, Any], cls: type) -> bool:
    """Whether ``model`` is the schema of ``cls`` validating its fields and nothing else."""
    return (
        model["type"] == "model"
        and model["cls"] is cls
        and not model.get("custom_init")
        and not model.get("root_model")
        and "post_init" not in model
        and model["schema"]["type"] == "model-fields"
    )


def _same_from_python(node: Any) -> bool:
    """Whether nothing in the schema ``node`` would validate a Python value from JSON
    differently from the JSON itself: no strict check, no validator of the application's."""
    if isinstance(node, dict):
        if node.get("strict") is True:
            return False
        kind = node.get("type")
        kind = kind if isinstance(kind, str) else ""  # a dict: a field named "type"
        if kind in _READ_APART:
            return False
        if kind.startswith("function-"):
            function = node.get("function")
            function = function.get("function") if isinstance(function, dict) else function
            if not getattr(function, "__module__", "").startswith("pydantic."):
                return False
        return all(
            _same_from_python(value)
            for key, value in node.items()
            if key not in ("cls", "metadata", "serialization")
        )
    if isinstance(node, list | tuple):
        return all(_same_from_python(value) for value in node)
    return True


def _resolved(node: Any, definitions: dict[str, Any]) -> Any:
    """``node``, or the definition it refers to (a model refers to itself when it may nest)."""
    if isinstance(node, dict) and node.get("type") == "definition-ref":
        return definitions.get(node.get("schema_ref"), node)
    return node


def _bare(node: Any, definitions: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """``node`` with definitions resolved (once: a type may contain itself) and descriptive
    keys left out, to compare shapes."""
    if isinstance(node, dict):
        ref = node.get("schema_ref") if node.get("type") == "definition-ref" else None
        if isinstance(ref, str) and ref not in seen:
            return _bare(_resolved(node, definitions), definitions, seen | {ref})
        if node.get("type") == "model":
            return node  # compared by its class, not its fields
        return {k: _bare(v, definitions, seen) for k, v in node.items() if k not in _DESCRIPTIVE}
    return node


def value_sets(values: Any) -> bool:
    """Whether ``values`` (parsed JSON) is a list of lists of JSON objects or null: all a
    Value Sets field checks (JSON object keys are strings), at the speed of the built-ins."""
    return (
        type(values) is list
        and set(map(type, values)) <= _LISTS
        and set(map(type, chain.from_iterable(values))) <= _OBJECTS_OR_NULL
    )


_LISTS = frozenset({list})
_OBJECTS_OR_NULL = frozenset({dict, NoneType})


def take(data: dict[str, Any], plan: BulkPlan) -> Taken | None:
    """Take the bulk fields out of ``data`` (parsed JSON), leaving empty lists in their place
    (so the field is still set); ``None`` if one is missing or of another shape (then the
    whole parse must be pydantic's own, which reports it)."""
    taken = Taken()
    for name in plan.value_sets:
        values = data.get(name)
        if not value_sets(values):
            return None
        data[name] = []
        taken.value_sets.append((name, values))
    for name, inner in plan.listed:
        items = data.get(name)
        if type(items) is not list:
            return None
        nested = []
        for item in items:
            found = take(item, inner) if type(item) is dict else None
            if found is None:
                return None
            nested.append(found)
        taken.listed.append((name, nested))
    return taken


def put_back(model: BaseModel, taken: Taken) -> None:
    """Put what :func:`take` took into the model validated without it."""
    fields = model.__dict__
    for name, values in taken.value_sets:
        fields[name] = values
    for name, nested in taken.listed:
        for item, found in zip(fields[name], nested, strict=True):
            put_back(item, found)
