"""Check a Server's scope descriptions against the scope and authorization-details rules of
the documents (``x-cds-scopes`` / ``x-cds-authorization-details-fields``).

Input is an authorization-server metadata object as a Server publishes it; every violation
names the scope id, the rule broken and the anchor of the section that states the rule, so a
Server implementer can go straight to the text. Scope types no document defines are skipped
(Servers may add their own), as are conditional types that depend on the data a Server holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdsgen import model as m


@dataclass(frozen=True)
class Violation:
    scope_id: str
    scope_type: str
    field: str
    message: str
    document: str
    anchor: str

    def __str__(self) -> str:
        where = f"[{self.document}#{self.anchor}]"
        return f"{self.scope_id} ({self.scope_type}): {self.field}: {self.message} {where}"


_MISSING = object()


def constraint_problems(value: Any, constraint: dict[str, Any]) -> list[str]:
    """What is wrong with ``value`` under one constraint object (empty when it holds)."""
    if value is _MISSING:
        return ["missing"]
    out: list[str] = []
    items = value if isinstance(value, list) else None
    for key, expected in constraint.items():
        if key == "equals" and value != expected:
            out.append(f"must be {expected!r}, is {value!r}")
        elif key == "one_of" and value not in expected:
            out.append(f"must be one of {expected!r}, is {value!r}")
        elif key == "includes":
            missing = [v for v in expected if items is None or v not in items]
            if missing:
                out.append(f"must include {missing!r}")
        elif key == "excludes":
            present = [v for v in expected if items is not None and v in items]
            if present:
                out.append(f"must not include {present!r}")
        elif key == "subset_of":
            extra = [v for v in (items or []) if v not in expected]
            if extra:
                out.append(f"may only hold {expected!r}, also holds {extra!r}")
        elif key == "non_empty" and bool(items) != expected:
            out.append("must not be empty" if expected else "must be empty")
        elif key == "is_null" and (value is None) != expected:
            out.append("must be null" if expected else "must not be null")
        elif key == "choices":  # on a field object: the ids of its `choices`
            choices = value.get("choices", _MISSING) if isinstance(value, dict) else _MISSING
            ids = (
                [c.get("id") for c in choices if isinstance(c, dict)]
                if isinstance(choices, list)
                else _MISSING
            )
            out += [f"choices: {p}" for p in constraint_problems(ids, expected)]
    return out


def check_scope_descriptions(spec: m.Spec, metadata: dict[str, Any]) -> list[Violation]:
    """Every rule violation of the metadata's ``cds_scope_descriptions``."""
    out: list[Violation] = []
    descriptions = metadata.get("cds_scope_descriptions") or {}
    for scope_id, desc in sorted(descriptions.items()) if isinstance(descriptions, dict) else []:
        if not isinstance(desc, dict):
            continue
        scope = spec.scopes.get(desc.get("type"))
        if scope is not None:
            out += _check_scope(spec, scope_id, desc, scope)
        out += _check_fields(spec, scope_id, desc)
    return out


def _fields_by_id(desc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    fields = desc.get("authorization_details_fields_supported") or []
    return {f["id"]: f for f in fields if isinstance(f, dict) and "id" in f}


def _check_requirements(
    scope_id: str,
    scope_type: str,
    obj: dict[str, Any],
    requirements: dict,
    where: str,
    document: str,
    anchor: str,
) -> list[Violation]:
    out = []
    for field, constraint in requirements.items():
        for problem in constraint_problems(obj.get(field, _MISSING), constraint):
            out.append(
                Violation(scope_id, scope_type, f"{where}{field}", problem, document, anchor)
            )
    return out


def _check_field_objects(
    scope_id: str, desc: dict, rules: dict[str, dict], document: str, anchor: str
) -> list[Violation]:
    """``rules``: field id → one constraint on that Authorization Details Field object."""
    out = []
    fields = _fields_by_id(desc)
    for fid, constraint in rules.items():
        obj = fields.get(fid)
        if obj is None:
            continue  # whether the field must be offered is a types rule, checked separately
        for problem in constraint_problems(obj, constraint):
            out.append(Violation(scope_id, desc.get("type", "?"), fid, problem, document, anchor))
    return out


def _applies(when: dict[str, Any], desc: dict[str, Any]) -> bool:
    if (
        "authorization" in when
        and bool(desc.get("response_types_supported")) != when["authorization"]
    ):
        return False
    choice = when.get("choice")
    if choice:
        field = _fields_by_id(desc).get(choice["field"])
        ids = [c.get("id") for c in (field or {}).get("choices") or [] if isinstance(c, dict)]
        if choice["id"] not in ids:
            return False
    return True


def _check_scope(spec: m.Spec, scope_id: str, desc: dict, scope: m.Scope) -> list[Violation]:
    out = _check_requirements(
        scope_id, scope.type, desc, scope.requirements, "", scope.document, scope.anchor
    )
    out += _check_field_objects(
        scope_id, desc, scope.authorization_details_fields, scope.document, scope.anchor
    )
    for rule in scope.rules:
        if _applies(rule.when, desc):
            out += _check_requirements(
                scope_id, scope.type, desc, rule.requirements, "", scope.document, scope.anchor
            )
            out += _check_field_objects(
                scope_id, desc, rule.authorization_details_fields, scope.document, scope.anchor
            )
    return out


def _check_fields(spec: m.Spec, scope_id: str, desc: dict) -> list[Violation]:
    """Rules of each authorization-details field the scope offers (WG3-01 §7)."""
    out = []
    for fid, obj in _fields_by_id(desc).items():
        rule = spec.authorization_details_fields.get(fid)
        if rule is None:
            continue
        scope_type = desc.get("type", "?")
        out += _check_requirements(
            scope_id, scope_type, obj, rule.requirements, f"{fid}.", rule.document, rule.anchor
        )
        for r in rule.rules:
            if _applies(r.when, desc):
                out += _check_requirements(
                    scope_id, scope_type, obj, r.requirements, f"{fid}.", rule.document, rule.anchor
                )
    return out
