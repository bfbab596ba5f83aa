"""The documents' machine-readable rules, as the checks use them.

The suite runs from the canonical source itself: ``spec/`` is shipped inside this package
(``cds_conformance/spec``, a link to the repository's ``spec/`` that setuptools copies into
the wheel as package data) and loaded with :mod:`cdsgen.loader` into the one typed model. So
an installed wheel checks a Server against exactly the rules this checkout lints and
generates from: strict payload validation with the value-set invariants
(:class:`cdsgen.validate.PayloadValidator`), the scope-description rules
(:mod:`cdsgen.scope_rules`), and each endpoint's filters, order and responses.

Forward compatibility: a Server of a later version may send fields and enumeration values
this version does not know. Those are reported as notes, never as failures.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics
from cdsgen.loader import load_spec
from cdsgen.types import ArrayOf, Named, TypeExpr, parse_type
from cdsgen.validate import PayloadValidator

SPEC_DIR = Path(__file__).resolve().parent / "spec"

#: JSON Schema keywords whose failures mean "something this version does not know".
_FORWARD_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties", "enum"})


class SpecUnavailable(RuntimeError):
    """The shipped source is missing or does not load (a broken installation)."""


@cache
def load_rules(spec_dir: Path = SPEC_DIR) -> Rules:
    """The rules of the shipped source, loaded once per process."""
    if not spec_dir.is_dir():
        raise SpecUnavailable(f"{spec_dir}: the CDS source is not installed with cds_conformance")
    diags = Diagnostics()
    spec = load_spec(spec_dir, diags)
    if diags.errors:
        first = diags.sorted()[0]
        raise SpecUnavailable(f"the shipped CDS source has {len(diags.errors)} error(s): {first}")
    return Rules(spec)


@dataclass
class Verdict:
    """What is wrong with one payload: schema failures, invariant failures, and notes."""

    failures: list[str] = field(default_factory=list)
    invariants: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _FastFirst:
    """The same schema compiled with fastjsonschema (its keywords here are all draft-07
    ones): valid payloads — nearly all of them — pass at compiled speed; jsonschema runs
    only to describe what is wrong with the others."""

    def __init__(self, slow: jsonschema.Draft202012Validator):
        self.slow = slow
        self.fast = fastjsonschema.compile(copy.deepcopy(slow.schema))

    def is_valid(self, value: Any) -> bool:
        try:
            self.fast(value)
        except fastjsonschema.JsonSchemaException:
            return self.slow.is_valid(value)
        return True

    def iter_errors(self, value: Any) -> Iterator[jsonschema.ValidationError]:
        if self.is_valid(value):
            return iter(())
        return self.slow.iter_errors(value)


class _Validator(PayloadValidator):
    """The strict payload validator of the linter, with a compiled fast path."""

    def _validator(self, t: TypeExpr) -> Any:
        key = str(t)
        if key not in self._fast:
            self._fast[key] = _FastFirst(super()._validator(t))
        return self._fast[key]

    def __init__(self, spec: m.Spec):
        super().__init__(spec)
        self._fast: dict[str, _FastFirst] = {}

    def errors(self, type_name: str, value: Any) -> list[jsonschema.ValidationError]:
        return list(self._validator(parse_type(type_name)).iter_errors(value))


class Rules:
    """The spec model plus the validators built from it."""

    def __init__(self, spec: m.Spec):
        self.spec = spec
        self._validator = _Validator(spec)

    def judge(self, type_name: str, value: Any) -> Verdict:
        """Validate ``value`` as ``type_name``: known-field and known-value problems become
        notes (forward compatibility), everything else a failure."""
        verdict = Verdict()
        for err in self._validator.errors(type_name, value):
            leaf = _leaf(err)
            text = f"{_path(err.absolute_path)}: {_short(leaf)}"
            if leaf.validator in _FORWARD_KEYWORDS:
                verdict.notes.append(text)
            else:
                verdict.failures.append(text)
        verdict.invariants = self._validator.invariants(parse_type(type_name), value)
        return verdict

    def endpoint(self, operation_id: str) -> m.Endpoint:
        return self.spec.endpoints[operation_id]

    def listing_key(self, ep: m.Endpoint) -> tuple[str, str] | None:
        """(array field, item object name) of a listing's success type."""
        ok = ep.success()
        if ok is None or ok.type is None:
            return None
        obj = self.spec.objects.get(str(ok.type))
        if obj is None:
            return None
        for name, f in obj.fields.items():
            if isinstance(f.type, ArrayOf) and isinstance(f.type.item, Named):
                if f.type.item.name in self.spec.objects:
                    return name, f.type.item.name
        return None

    def has_positional_values(self, object_name: str) -> bool:
        """Whether objects of this type carry value sets the invariants apply to."""
        obj = self.spec.objects.get(object_name)
        if obj is None:
            return False
        return any(
            self._validator._positional_union(f.type) is not None for f in obj.fields.values()
        )

    def id_field(self, object_name: str) -> str | None:
        """The field that identifies objects of this type (``cds_<x>_id`` or ``<x>_id``)."""
        obj = self.spec.objects.get(object_name)
        if obj is None:
            return None
        ids = [n for n in obj.fields if n.endswith("_id") and obj.fields[n].required]
        preferred = [n for n in ids if n.startswith("cds_")]
        return (preferred or ids or [None])[0]


def _leaf(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most telling error under a oneOf/anyOf."""
    while err.validator in ("oneOf", "anyOf") and err.context:
        best = jsonschema.exceptions.best_match(err.context)
        if best is None:
            break
        err = best
    return err


def _path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _short(err: jsonschema.ValidationError) -> str:
    msg = err.message
    return msg if len(msg) < 200 else msg[:197] + "..."
