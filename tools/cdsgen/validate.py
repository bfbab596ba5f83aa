"""Strict validation of CDS payloads: the JSON Schema of a type plus the invariants a schema
cannot express.

Used by ``cdsgen lint`` for the published examples and by the reference server for what it
emits. The invariants come from the model, not from hard-coded names, except where noted:

* a **positional union** (``selected_by``, e.g. Value Objects selected by ``formats[i].type``):
  every Value Set has exactly one entry per ``formats`` entry, and each non-null entry is a
  valid member for the type its format names (types no document defines are skipped);
* **segment duration** (WG3-01 §10.8.1/§10.8.3): for an object with ``segment_start``,
  ``segment_end``, ``interval`` and a positional value field, ``segment_end - segment_start``
  equals ``interval × len(values)``. Point-in-time meter readings (§10.8.5.8), whose interval
  is the spacing between readings rather than a duration, are exempt.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson

from cdsgen import model as m
from cdsgen.cache import memo_key, memo_table
from cdsgen.cachedir import installed_version
from cdsgen.jsonvalues import schema_without
from cdsgen.schemas import SchemaBuilder
from cdsgen.types import ArrayOf, MapOf, Named, TypeExpr, parse_type

if TYPE_CHECKING:
    import jsonschema

#: Value types whose interval spaces point-in-time readings instead of measuring durations.
POINT_IN_TIME_TYPES = frozenset({"meter_readings"})
MAX_PROBLEMS = 50


class PayloadValidator:
    """Validates values of model types strictly, within one document view."""

    def __init__(
        self,
        spec: m.Spec,
        documents: list[str] | None = None,
        *,
        strict: bool = True,
        memo: bool = False,
    ):
        """``memo``: keep the verdicts in the user cache (:func:`cdsgen.cache.memo_table`),
        found by the schema and the value, for a caller that judges the same values run
        after run (lint: the published examples); the server judges new values only."""
        self.spec = spec
        self.builder = SchemaBuilder(
            spec, strict=strict, ref_prefix="#/$defs/", documents=documents
        )
        self.memo = memo
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    @cached_property
    def defs(self) -> dict[str, Any]:
        """The components of this view (shared by the validators of the same view: lint's
        and each OpenAPI's; read, never changed)."""
        key = ("PayloadValidator.defs", self.builder.strict, tuple(sorted(self.builder.documents)))
        made = self.spec.derived.get(key)
        if made is None:
            made = self.spec.derived[key] = self.builder.components()
        return made

    def _validator(self, t: TypeExpr) -> jsonschema.Draft202012Validator:
        import jsonschema  # imported when a verdict is not in the cache, a tenth of a second

        key = str(t)
        if key not in self._validators:
            schema = {**self.builder.type_schema(t), "$defs": self.defs}
            self._validators[key] = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[key]

    @cached_property
    def _memo_prefix(self) -> str:
        """What every verdict of this validator depends on besides the type and the value."""
        key = ("PayloadValidator.memo_prefix", id(self.defs))
        made = self.spec.derived.get(key)
        if made is None:
            defs = orjson.dumps(verdict_relevant(self.defs, maps=True))
            made = memo_key(f"jsonschema {installed_version('jsonschema')}", defs)
            self.spec.derived[key] = made
        return made

    def _remembered(self, what: str, t: TypeExpr, value: Any, judge: Any) -> Any:
        """``judge()``, or its verdict on the same type schema and value in an earlier run."""
        if not self.memo:
            return judge()
        try:
            given = orjson.dumps([what, verdict_relevant(self.builder.type_schema(t)), value])
        except TypeError:  # integers beyond 64 bits: judged every time
            return judge()
        table = memo_table("PayloadValidator verdicts-1")
        key = memo_key(self._memo_prefix, given)
        return orjson.loads(table.get(key, lambda: orjson.dumps(judge()).decode()))

    def problems(self, t: TypeExpr | str, value: Any) -> list[str]:
        """Schema errors, then invariant violations, as ``$.path: message`` strings."""
        if isinstance(t, str):
            t = parse_type(t)
        out = self.schema_problems(t, value)
        out += self.invariants(t, value)
        return out[:MAX_PROBLEMS]

    def schema_valid(self, t: TypeExpr | str, value: Any) -> bool:
        """Whether ``value`` satisfies the JSON Schema of ``t`` (no invariants)."""
        parsed = parse_type(t) if isinstance(t, str) else t
        return self._remembered(
            "valid", parsed, value, lambda: self._validator(parsed).is_valid(value)
        )

    def _first_problem(self, t: TypeExpr, value: Any) -> str | None:
        """The first JSON Schema error of ``value`` in short, or ``None`` if it is valid."""

        def judge() -> str | None:
            validator = self._validator(t)
            if validator.is_valid(value):
                return None
            return _short(next(validator.iter_errors(value)))

        return self._remembered("first", t, value, judge)

    def schema_problems(self, t: TypeExpr | str, value: Any) -> list[str]:
        """The JSON Schema errors alone (no invariants), as ``$.path: message`` strings."""
        parsed = parse_type(t) if isinstance(t, str) else t

        def judge() -> list[str]:
            errors = self._validator(parsed).iter_errors(value)
            return [
                f"{_path(err.absolute_path)}: {_short(err)}"
                for err in sorted(errors, key=lambda e: list(e.absolute_path))
            ]

        return self._remembered("problems", parsed, value, judge)

    # -- invariants ------------------------------------------------------------------------------
    def invariants(self, t: TypeExpr, value: Any, path: str = "$") -> list[str]:
        out: list[str] = []
        if isinstance(t, ArrayOf) and isinstance(value, list):
            for i, item in enumerate(value):
                out += self.invariants(t.item, item, f"{path}[{i}]")
        elif isinstance(t, MapOf) and isinstance(value, dict):
            for k, item in value.items():
                out += self.invariants(t.value, item, f"{path}.{k}")
        elif isinstance(t, Named) and isinstance(value, dict):
            obj = self.spec.objects.get(t.name)
            union = self.spec.unions.get(t.name)
            if obj is not None:
                out += self._object_invariants(obj, value, path)
            elif union is not None and union.discriminator:
                member = union.mapping.get(value.get(union.discriminator))
                if member:
                    out += self.invariants(Named(member), value, path)
        return out

    def _object_invariants(self, obj: m.ObjectType, value: dict, path: str) -> list[str]:
        out: list[str] = []
        for name, fd in obj.fields.items():
            if name not in value:
                continue
            union = self._positional_union(fd.type)
            if union is not None:
                out += self._positional(union, value, name, f"{path}.{name}")
                out += self._segment_duration(union, value, name, path)
            else:
                out += self.invariants(fd.type, value[name], f"{path}.{name}")
        return out

    def _positional_union(self, t: TypeExpr) -> m.UnionType | None:
        """The positional union of a ``[[U]]`` field, if any."""
        if (
            isinstance(t, ArrayOf)
            and isinstance(t.item, ArrayOf)
            and isinstance(t.item.item, Named)
        ):
            union = self.spec.unions.get(t.item.item.name)
            if union is not None and union.selected_by:
                return union
        return None

    def _positional(self, union: m.UnionType, obj: dict, field: str, path: str) -> list[str]:
        selector_field, disc = union.selected_by  # type: ignore[misc]
        selectors = obj.get(selector_field)
        sets = obj.get(field)
        if not isinstance(selectors, list) or not isinstance(sets, list):
            return []
        kinds = [s.get(disc) if isinstance(s, dict) else None for s in selectors]
        out: list[str] = []
        for i, entry in enumerate(sets):
            if not isinstance(entry, list):
                continue
            if len(entry) != len(kinds):
                out.append(f"{path}[{i}]: {len(entry)} entries but {len(kinds)} {selector_field}")
                continue
            for j, item in enumerate(entry):
                member = union.mapping.get(kinds[j]) if item is not None else None
                if member is None:
                    continue  # missing measurement, or a type no document defines
                problem = self._first_problem(Named(member), item)
                if problem is not None:
                    out.append(f"{path}[{i}][{j}]: not a valid {member}: {problem}")
            if len(out) >= MAX_PROBLEMS:
                break
        return out

    def _segment_duration(self, union: m.UnionType, obj: dict, field: str, path: str) -> list[str]:
        selector_field, disc = union.selected_by  # type: ignore[misc]
        kinds = {s.get(disc) for s in obj.get(selector_field) or [] if isinstance(s, dict)}
        if (
            kinds & POINT_IN_TIME_TYPES
            or not {"segment_start", "segment_end", "interval"} <= obj.keys()
        ):
            return []
        try:
            start = datetime.fromisoformat(str(obj["segment_start"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(obj["segment_end"]).replace("Z", "+00:00"))
            expected = float(obj["interval"]) * len(obj[field])
        except (TypeError, ValueError):
            return []  # the schema errors already say what is wrong
        actual = (end - start).total_seconds()
        if abs(actual - expected) > 1e-6:
            sets = len(obj[field])
            return [
                f"{path}: segment_end - segment_start is {actual:g}s "
                f"but interval x {sets} value sets is {expected:g}s"
            ]
        return []


#: Keywords that annotate a schema without taking part in validation.
_ANNOTATIONS = frozenset({"description", "title", "examples", "deprecated", "$comment"})
#: Kept as they are: data (``enum``, ``const``, ``default``), and the keywords whose
#: subschemas jsonschema quotes whole in its messages ("should not be valid under {...}", "is
#: valid under each of {...}").
_VERBATIM = frozenset({"enum", "const", "default", "not", "oneOf"})


def verdict_relevant(schema: Any, maps: bool = False) -> Any:
    """``schema`` without what cannot change a verdict on a value or its messages: the
    annotations (descriptions, titles, examples, ``x-`` extensions), so that a change of
    wording finds the verdicts of the last run (``maps``: ``schema`` is a name → schema map)."""
    return schema_without(
        schema, lambda key: key in _ANNOTATIONS or key.startswith("x-"), _VERBATIM, maps
    )


def _path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _short(err: jsonschema.ValidationError) -> str:
    if err.validator in ("oneOf", "anyOf") and err.context:
        from jsonschema.exceptions import best_match

        best = best_match(err.context)
        if best is not None:
            return _short(best)
    msg = err.message
    return msg if len(msg) < 200 else msg[:197] + "..."
