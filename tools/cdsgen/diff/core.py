"""The vocabulary of the diff: changes and reports, who writes and reads each payload, how
types relate, and the verdict of one change for Clients and Servers (see :mod:`cdsgen.diff`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cdsgen import model as m
from cdsgen.diff.rules import DIFF_RULES
from cdsgen.types import AnyOf, ArrayOf, MapOf, Named, TypeExpr, names_in

BREAKING = "breaking"
COMPATIBLE = "compatible"
INFO = "informational"
SEVERITIES = (BREAKING, COMPATIBLE, INFO)
_RANK = {INFO: 0, COMPATIBLE: 1, BREAKING: 2}

REQUEST = "request"
RESPONSE = "response"

CLIENTS = "clients"
SERVERS = "servers"


@dataclass(frozen=True)
class Change:
    """One difference between the two versions, classified for each party."""

    #: Document the changed item belongs to ('' for shared primitive types).
    document: str
    #: Machine-readable kind, e.g. ``field-required`` or ``enum-value-added``.
    kind: str
    #: What changed: ``Object.field``, ``Enum.value``, ``operationId``, ``scope id``, …
    subject: str
    #: What happened, in words.
    message: str
    clients: str
    servers: str
    #: Who must do what (empty when nothing breaks).
    why: str = ""
    #: Section of the document (the newer text where it exists) the change is about.
    anchor: str = ""

    @property
    def severity(self) -> str:
        return max(self.clients, self.servers, key=_RANK.__getitem__)

    def to_json(self) -> dict[str, str]:
        return {
            "document": self.document,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "severity": self.severity,
            "clients": self.clients,
            "servers": self.servers,
            "why": self.why,
            "anchor": self.anchor,
        }


@dataclass(frozen=True)
class DocumentSide:
    """A document as it appears in the two versions (``None`` where it does not exist)."""

    id: str
    code: str
    title: str
    old_version: str | None
    new_version: str | None
    old_status: str | None
    new_status: str | None


@dataclass
class DiffReport:
    old_label: str
    new_label: str
    documents: list[DocumentSide]
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(c.severity == BREAKING for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SEVERITIES}
        for c in self.changes:
            out[c.severity] += 1
        out["breaking_for_clients"] = sum(c.clients == BREAKING for c in self.changes)
        out["breaking_for_servers"] = sum(c.servers == BREAKING for c in self.changes)
        return out

    def by_document(self) -> list[tuple[DocumentSide, list[Change]]]:
        """Changes grouped by document (document order, shared types last), breaking first."""
        order = {d.id: i for i, d in enumerate(self.documents)}
        groups: dict[str, list[Change]] = {}
        for c in self.changes:
            groups.setdefault(c.document, []).append(c)
        shared = DocumentSide("", "", "Shared types", None, None, None, None)
        out = []
        for doc_id in sorted(groups, key=lambda d: order.get(d, len(order))):
            side = next((d for d in self.documents if d.id == doc_id), shared)
            items = sorted(groups[doc_id], key=lambda c: -_RANK[c.severity])
            out.append((side, items))
        return out

    def unbumped(self) -> list[DocumentSide]:
        """Documents with breaking changes whose version did not change."""
        broken = {c.document for c in self.changes if c.severity == BREAKING}
        return [
            d
            for d in self.documents
            if d.id in broken and d.old_version is not None and d.old_version == d.new_version
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old_label,
            "new": self.new_label,
            "breaking": self.breaking,
            "summary": self.counts(),
            "documents": [
                {
                    "id": d.id,
                    "code": d.code,
                    "title": d.title,
                    "old_version": d.old_version,
                    "new_version": d.new_version,
                    "old_status": d.old_status,
                    "new_status": d.new_status,
                }
                for d in self.documents
            ],
            "changes": [c.to_json() for c in self.changes],
        }


def _anchored(c: Change, old: m.Spec, new: m.Spec) -> Change:
    """``c`` with the anchor of the section its subject is defined in (newer text first)."""
    if c.anchor:
        return c
    for spec in (new, old):
        anchor = _anchor_of(c.subject, spec)
        if anchor:
            return Change(**{**c.__dict__, "anchor": anchor})
    return c


def _anchor_of(subject: str, spec: m.Spec) -> str:
    head, _, rest = subject.partition(" ")
    tables: dict[str, dict[str, Any]] = {
        "erratum": {e.id: e for e in spec.errata},
        "example": spec.examples,
        "section": {},
    }
    if head in tables and rest:
        item = tables[head].get(rest)
        return item.anchor if item else (rest if head == "section" else "")
    if subject in spec.endpoints:
        return spec.endpoints[subject].anchor
    if subject in spec.scopes:
        return spec.scopes[subject].anchor
    name, _, member = subject.partition(".")
    name = name.split(" ")[0].split("?")[0]
    if name in spec.objects:
        obj = spec.objects[name]
        fd = obj.fields.get(member)
        return (fd.anchor or obj.anchor) if fd else obj.anchor
    for table in (spec.enums, spec.unions, spec.endpoints):
        if name in table:
            return table[name].anchor
    if subject.startswith("authorization details field "):
        fid = subject.rsplit(" ", 1)[-1]
        rule = spec.authorization_details_fields.get(fid)
        return rule.anchor if rule else ""
    return ""


# -- where things are used -----------------------------------------------------------------------
def usage(spec: m.Spec) -> dict[str, set[str]]:
    """For every object, enum and union: whether it travels in requests, responses, or both."""
    out: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()

    def walk(t: TypeExpr, direction: str) -> None:
        for name in names_in(t):
            if (name, direction) in seen:
                continue
            seen.add((name, direction))
            out.setdefault(name, set()).add(direction)
            if name in spec.objects:
                for fd in spec.objects[name].fields.values():
                    walk(fd.type, direction)
            elif name in spec.unions:
                for member in spec.unions[name].members:
                    walk(member, direction)

    for ep in spec.endpoints.values():
        if ep.request_type is not None:
            walk(ep.request_type, REQUEST)
        for r in ep.responses:
            if r.type is not None:
                walk(r.type, RESPONSE)
    for table in (spec.objects, spec.unions, spec.enums):
        for name, item in table.items():
            if name not in out:
                walk(Named(name), REQUEST if getattr(item, "kind", "") == "request" else RESPONSE)
    # a base object travels wherever the objects built on it do
    for _ in range(len(spec.objects)):
        grown = False
        for obj in spec.objects.values():
            if obj.base and not out.get(obj.name, set()) <= out.setdefault(obj.base, set()):
                out[obj.base] |= out[obj.name]
                grown = True
        if not grown:
            break
    return out


def _roles(direction: str) -> tuple[str, str]:
    """(writer, reader) of a payload travelling in ``direction``."""
    return (SERVERS, CLIENTS) if direction == RESPONSE else (CLIENTS, SERVERS)


# -- type comparison -----------------------------------------------------------------------------
def _rename(t: TypeExpr, renames: dict[str, str]) -> TypeExpr:
    if isinstance(t, Named):
        return Named(renames.get(t.name, t.name))
    if isinstance(t, ArrayOf):
        return ArrayOf(_rename(t.item, renames))
    if isinstance(t, MapOf):
        return MapOf(_rename(t.value, renames))
    return AnyOf(tuple(_rename(o, renames) for o in t.options))


def _options(t: TypeExpr) -> set[TypeExpr]:
    return set(t.options) if isinstance(t, AnyOf) else {t}


def _contains(big: dict[str, Any], small: dict[str, Any]) -> bool:
    """Every keyword of ``small`` appears in ``big`` with the same value."""
    return all(k in big and _key(big[k]) == _key(v) for k, v in small.items())


def _schema_relation(old: dict[str, Any], new: dict[str, Any]) -> str:
    """How two primitive schemas relate: more keywords mean fewer accepted values."""
    if _contains(new, old):
        return "narrower"
    if _contains(old, new):
        return "wider"
    rest_old = {k: v for k, v in old.items() if k != "type"}
    rest_new = {k: v for k, v in new.items() if k != "type"}
    if _key(rest_old) == _key(rest_new):
        # JSON integers are numbers
        if (old.get("type"), new.get("type")) == ("integer", "number"):
            return "wider"
        if (old.get("type"), new.get("type")) == ("number", "integer"):
            return "narrower"
    return "different"


def type_relation(old: TypeExpr, new: TypeExpr, old_spec: m.Spec, new_spec: m.Spec) -> str:
    """``same``, ``wider`` (new accepts every old value), ``narrower`` (old accepts every new
    value) or ``different``; ``old`` names types of ``old_spec``, ``new`` of ``new_spec``."""
    if old == new:
        return "same"
    a, b = _options(old), _options(new)
    if len(a) > 1 or len(b) > 1:
        if a < b:
            return "wider"
        if b < a:
            return "narrower"
        return "different"
    if isinstance(old, ArrayOf) and isinstance(new, ArrayOf):
        return type_relation(old.item, new.item, old_spec, new_spec)
    if isinstance(old, MapOf) and isinstance(new, MapOf):
        return type_relation(old.value, new.value, old_spec, new_spec)
    if isinstance(old, Named) and isinstance(new, Named):
        po, pn = old_spec.primitives.get(old.name), new_spec.primitives.get(new.name)
        if po is not None and pn is not None:
            return _schema_relation(po.schema, pn.schema)
        oo, no = old_spec.objects.get(old.name), new_spec.objects.get(new.name)
        if oo is not None and no is not None:
            return _object_relation(oo, no, old_spec, new_spec, frozenset())
        eo, en = old_spec.enums.get(old.name), new_spec.enums.get(new.name)
        if eo is not None and en is not None:
            return _combine([_set_relation(set(eo.values), set(en.values))])
    return "different"


def _set_relation(old: set, new: set) -> str:
    if old == new:
        return "same"
    return "wider" if old < new else "narrower" if new < old else "different"


def _combine(relations: list[str]) -> str:
    """The relation of a whole from those of its parts."""
    kinds = set(relations) - {"same"}
    if not kinds:
        return "same"
    return kinds.pop() if len(kinds) == 1 and "different" not in kinds else "different"


def _object_relation(
    old: m.ObjectType, new: m.ObjectType, old_spec: m.Spec, new_spec: m.Spec, seen: frozenset
) -> str:
    """Compare two differently named objects by structure: the new one is ``wider`` when it
    accepts every value of the old one (no new required field, no field narrowed), and so on.
    Fields present on one side only matter when required there (objects accept unknown
    fields)."""
    if (old.name, new.name) in seen:
        return "same"  # a cycle: judged by the rest of the structure
    seen = seen | {(old.name, new.name)}
    parts: list[str] = []
    for name in old.fields.keys() | new.fields.keys():
        fo, fn = old.fields.get(name), new.fields.get(name)
        if fo is None or fn is None:
            if (fn or fo).required:
                parts.append("narrower" if fo is None else "wider")
            continue
        if fo.required != fn.required:
            parts.append("narrower" if fn.required else "wider")
        if fo.nullable != fn.nullable:
            parts.append("wider" if fn.nullable else "narrower")
        if fo.type != fn.type:
            if isinstance(fo.type, Named) and isinstance(fn.type, Named):
                a, b = old_spec.objects.get(fo.type.name), new_spec.objects.get(fn.type.name)
                if a is not None and b is not None:
                    parts.append(_object_relation(a, b, old_spec, new_spec, seen))
                    continue
            parts.append(type_relation(fo.type, fn.type, old_spec, new_spec))
    return _combine(parts)


# -- helpers -------------------------------------------------------------------------------------
def _fmt(values: Iterable[Any]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _cond(c: m.Condition | None) -> str | None:
    return c.describe() if c else None


#: Yes/no properties of a field: (attribute, (rule, message, who breaks) when it becomes
#: true, the same when it becomes false). ``writer``/``reader`` name what the party that
#: writes or reads the payload must now do (:meth:`_Differ._flow` finds who that is).
_Outcome = tuple[str, str, dict[str, str]]  # (rule, message, who must now do what)
_FIELD_TOGGLES: tuple[tuple[str, _Outcome, _Outcome], ...] = (
    (
        "required",
        ("field-required", "OPTIONAL → REQUIRED", {"writer": "must now send it"}),
        ("field-optional", "REQUIRED → OPTIONAL", {"reader": "can no longer rely on it"}),
    ),
    (
        "nullable",
        ("field-nullable-widened", "may now be `null`", {"reader": "must now accept `null`"}),
        (
            "field-nullable-narrowed",
            "may no longer be `null`",
            {"writer": "may no longer send `null`"},
        ),
    ),
    (
        "items_nullable",
        (
            "field-nullable-widened",
            "items may now be `null`",
            {"reader": "must now accept `null` items"},
        ),
        (
            "field-nullable-narrowed",
            "items may no longer be `null`",
            {"writer": "may no longer send `null` items"},
        ),
    ),
)


def _rule(kind: str) -> str:
    """``kind``, which must be a rule of :data:`cdsgen.diff.rules.DIFF_RULES`."""
    if kind not in DIFF_RULES:
        raise ValueError(f"diff rule '{kind}' is not listed in cdsgen.diff.rules.DIFF_RULES")
    return kind


class _Verdict:
    """Impact of one change on each party, with the reasons for what breaks."""

    def __init__(self) -> None:
        self.impact = {CLIENTS: COMPATIBLE, SERVERS: COMPATIBLE}
        self.reasons: list[str] = []

    def breaks(self, party: str, reason: str) -> _Verdict:
        self.impact[party] = BREAKING
        text = f"{party.capitalize()} {reason}"
        if text not in self.reasons:
            self.reasons.append(text)
        return self

    def merge(self, other: _Verdict) -> _Verdict:
        for party, impact in other.impact.items():
            if impact == BREAKING:
                self.impact[party] = BREAKING
        self.reasons += [r for r in other.reasons if r not in self.reasons]
        return self

    def why(self) -> str:
        return "; ".join(self.reasons)


def _line_changes(old: str, new: str) -> str:
    """What changed in a published example, line by line: the lines added and removed."""
    import difflib

    added, removed = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("+ ") and line[2:].strip():
            added.append(line[2:].strip())
        elif line.startswith("- ") and line[2:].strip():
            removed.append(line[2:].strip())

    def short(line: str) -> str:
        return line if len(line) <= 60 else line[:57] + "…"

    parts = [f"− {short(x)}" for x in removed[:4]] + [f"+ {short(x)}" for x in added[:4]]
    more = len(added) + len(removed) - len(parts)
    return "; ".join(parts) + (f"; … {more} more line(s)" if more > 0 else "")


def _renamed_values(old: list[str], new: list[str]) -> dict[str, str]:
    """Values that kept their place in the list but changed their name (old → new), the way
    an editor fixes a value's spelling: same position, and a removed and an added value."""
    gone, added = set(old) - set(new), set(new) - set(old)
    return {
        a: b
        for a, b in zip(old, new, strict=False)
        if a != b and a in gone and b in added and len(old) == len(new)
    }


class DifferBase:
    """What every part of the comparison shares: the two models, renames, where each payload
    is used, and how a change and its verdict are built."""

    def __init__(self, old: m.Spec, new: m.Spec):
        self.old, self.new = old, new
        old_use, new_use = usage(old), usage(new)
        self.renamed_objects = self._object_renames()
        self.renames = dict(self.renamed_objects)
        self.use: dict[str, set[str]] = {}
        for name, dirs in old_use.items():
            self.use.setdefault(self.renames.get(name, name), set()).update(dirs)
        for name, dirs in new_use.items():
            self.use.setdefault(name, set()).update(dirs)

    # -- building changes ------------------------------------------------------------------
    @staticmethod
    def _change(doc: str, kind: str, subject: str, message: str, v: _Verdict) -> Change:
        return Change(
            doc, _rule(kind), subject, message, v.impact[CLIENTS], v.impact[SERVERS], v.why()
        )

    @staticmethod
    def _info(doc: str, kind: str, subject: str, message: str) -> Change:
        return Change(doc, _rule(kind), subject, message, INFO, INFO)

    def _dirs(self, name: str) -> list[str]:
        return sorted(self.use.get(name, {RESPONSE}))

    def _payload(
        self,
        kind: str,
        doc: str,
        subject: str,
        name: str,
        message: str,
        *,
        writer: str | None = None,
        reader: str | None = None,
    ) -> Change:
        """A change to the payload ``name`` that asks something new of whoever writes it
        (``writer``) and/or reads it (``reader``); see :meth:`_flow`."""
        return self._change(doc, kind, subject, message, self._flow(name, writer, reader))

    def _flow(self, name: str, writer: str | None = None, reader: str | None = None) -> _Verdict:
        """A payload change that breaks the writer and/or reader of ``name`` wherever it is used."""
        v = _Verdict()
        dirs = self._dirs(name)
        for d in dirs:
            w, r = _roles(d)
            where = f" (in {d}s)" if len(dirs) > 1 else ""
            if writer:
                v.breaks(w, writer + where)
            if reader:
                v.breaks(r, reader + where)
        return v

    def _relation_verdict(self, name: str, relation: str) -> _Verdict:
        if relation == "wider":
            return self._flow(name, reader="may now receive values they did not expect")
        if relation == "narrower":
            return self._flow(name, writer="may no longer send some values they could")
        return self._flow(
            name, writer="must send it in the new form", reader="must read it in the new form"
        )
