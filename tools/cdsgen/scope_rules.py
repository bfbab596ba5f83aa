"""Check a Server's scope descriptions against the scope and authorization-details rules of
the documents (``x-cds-scopes`` / ``x-cds-authorization-details-fields``).

Input is an authorization-server metadata object as a Server publishes it; every violation
names the scope id, the rule broken and the anchor of the section that states the rule, so a
Server implementer can go straight to the text. What each rule means is :mod:`cdsgen.rules`;
this module only walks a metadata object and applies them. Scope types no document defines
are skipped (Servers may add their own), as are conditional types that depend on the data a
Server holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdsgen import model as m
from cdsgen.rules import Requirements


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


def check_scope_descriptions(spec: m.Spec, metadata: dict[str, Any]) -> list[Violation]:
    """Every rule violation of the metadata's ``cds_scope_descriptions``."""
    out: list[Violation] = []
    descriptions = metadata.get("cds_scope_descriptions") or {}
    for scope_id, desc in sorted(descriptions.items()) if isinstance(descriptions, dict) else []:
        if not isinstance(desc, dict):
            continue
        scope = spec.scopes.get(desc.get("type"))
        if scope is not None:
            out += _check_scope(scope_id, desc, scope)
        out += _check_fields(spec, scope_id, desc)
    return out


def _fields_by_id(desc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    fields = desc.get("authorization_details_fields_supported") or []
    return {f["id"]: f for f in fields if isinstance(f, dict) and "id" in f}


def _check_requirements(
    scope_id: str,
    scope_type: str,
    obj: dict[str, Any],
    requirements: Requirements,
    where: str,
    document: str,
    anchor: str,
) -> list[Violation]:
    return [
        Violation(scope_id, scope_type, f"{where}{name}", problem, document, anchor)
        for name, problem in requirements.problems(obj)
    ]


def _check_field_objects(
    scope_id: str, desc: dict, rules: Requirements, document: str, anchor: str
) -> list[Violation]:
    """``rules``: field id → one constraint on that Authorization Details Field object."""
    out = []
    fields = _fields_by_id(desc)
    for fid, constraint in rules.items():
        obj = fields.get(fid)
        if obj is None:
            continue  # whether the field must be offered is a types rule, checked separately
        for problem in constraint.problems(obj):
            out.append(Violation(scope_id, desc.get("type", "?"), fid, problem, document, anchor))
    return out


def _check_scope(scope_id: str, desc: dict, scope: m.Scope) -> list[Violation]:
    out = _check_requirements(
        scope_id, scope.type, desc, scope.requirements, "", scope.document, scope.anchor
    )
    out += _check_field_objects(
        scope_id, desc, scope.authorization_details_fields, scope.document, scope.anchor
    )
    for rule in scope.rules:
        if rule.when.applies(desc):
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
            if r.when.applies(desc):
                out += _check_requirements(
                    scope_id, scope_type, obj, r.requirements, f"{fid}.", rule.document, rule.anchor
                )
    return out
