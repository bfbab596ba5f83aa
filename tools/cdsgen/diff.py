"""Compare two versions of the source and classify every change for Clients and for Servers.

A change is **breaking** for a party when an implementation that conforms to the old version
may fail against a counterpart that conforms to the new one, or must change to conform; it is
**compatible** when nothing of the sort can happen, and **informational** when it touches no
implementation at all (errata, document versions).

Payloads have a *writer* and a *reader*: in responses the Server writes and the Client reads;
in request bodies the Client writes and the Server reads. Each object, enumeration and union
is classified by where it is used (walking every endpoint's request and response types; an
object used nowhere counts as published by the Server unless its ``kind`` is ``request``), and
the rules below are applied for every use:

* a new obligation on the writer (field added as REQUIRED, OPTIONAL → REQUIRED, nullable
  narrowed, value removed, type narrowed, …) breaks the **writer**;
* something new the reader may receive or can no longer rely on (REQUIRED → OPTIONAL,
  nullable widened, REQUIRED field removed, type widened, …) breaks the **reader** — except
  what the documents already make readers tolerate: Clients MUST ignore unknown fields and
  unknown values of open enumerations (CDS-WG1-01 §6), Servers MUST ignore submitted fields
  the Client may not modify (CDS-WG1-02 §6.11, §7.6, §8.6), so optional additions are
  compatible. Servers need not accept unknown enumerated values in requests, so a value
  added to an enumeration used in request bodies breaks Servers.

Scope and authorization-details rules describe what a Server publishes and supports:
tightening them (``includes``/``excludes`` grow, ``subset_of``/``one_of`` shrink, a rule is
added) breaks Servers; loosening them breaks Clients that relied on them; a changed ``equals``
breaks both. Nothing here reads files: :func:`compare` takes two models.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdsgen import model as m
from cdsgen.diff_rules import DIFF_RULES
from cdsgen.rules import (
    CHANGED,
    LOOSENED,
    TIGHTENED,
    Requirements,
    constraint_changes,
)
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


# -- entry ---------------------------------------------------------------------------------------
def compare(old: m.Spec, new: m.Spec, old_label: str = "old", new_label: str = "new") -> DiffReport:
    """Every difference between ``old`` and ``new`` that matters to an implementation."""
    ids = list(new.documents) + [d for d in old.documents if d not in new.documents]
    sides = []
    for doc_id in ids:
        o, n = old.documents.get(doc_id), new.documents.get(doc_id)
        cur = n or o
        sides.append(
            DocumentSide(
                doc_id,
                cur.code,
                cur.title,
                o.version if o else None,
                n.version if n else None,
                o.status if o else None,
                n.status if n else None,
            )
        )
    report = DiffReport(old_label, new_label, sides)
    report.changes = [_anchored(c, old, new) for c in _Differ(old, new).run()]
    return report


def only_document(
    report: DiffReport, document: str, new: m.Spec | None = None, old: m.Spec | None = None
) -> DiffReport:
    """The part of ``report`` about one document (e.g. a release against its draft); with
    the two models, also the errata of documents depending on it that hold only with one of
    its versions (``when_version``), e.g. a later document's erratum about a section that
    only the draft has."""
    dependents = {d.id for d in (new.documents.values() if new else []) if document in d.depends_on}
    errata_versions = {e.id: e.when_version for e in old.errata} if old else {}
    errata_versions.update({e.id: e.when_version for e in new.errata} if new else {})

    def keep(c: Change) -> bool:
        return c.document == document or (
            c.document in dependents
            and c.kind.startswith("erratum-")
            and document in errata_versions.get(c.subject.removeprefix("erratum "), {})
        )

    out = DiffReport(report.old_label, report.new_label, [])
    out.changes = [c for c in report.changes if keep(c)]
    kept = {c.document for c in out.changes} | {document}
    out.documents = [d for d in report.documents if d.id in kept]
    return out


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
    """``kind``, which must be a rule of :data:`cdsgen.diff_rules.DIFF_RULES`."""
    if kind not in DIFF_RULES:
        raise ValueError(f"diff rule '{kind}' is not listed in cdsgen.diff_rules.DIFF_RULES")
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


class _Differ:
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

    def run(self) -> Iterator[Change]:
        yield from self._documents()
        yield from self._sections()
        yield from self._primitives()
        yield from self._objects()
        yield from self._enums()
        yield from self._unions()
        yield from self._endpoints()
        yield from self._scopes()
        yield from self._auth_fields()
        yield from self._errata()
        yield from self._examples()

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

    # -- documents and primitives ----------------------------------------------------------
    def _documents(self) -> Iterator[Change]:
        for doc_id, n in self.new.documents.items():
            o = self.old.documents.get(doc_id)
            if o is None:
                yield self._info(
                    doc_id,
                    "document-added",
                    doc_id,
                    f"document {n.code} {n.title} added ({n.version}, {n.status})",
                )
                continue
            for attr, label in (
                ("version", "version"),
                ("status", "status"),
                ("wire_version", "wire version"),
                ("published_url", "published at"),
            ):
                a, b = getattr(o, attr), getattr(n, attr)
                if a != b:
                    yield self._info(
                        doc_id, f"document-{attr.replace('_', '-')}", doc_id, f"{label} {a} → {b}"
                    )
        for doc_id, o in self.old.documents.items():
            if doc_id not in self.new.documents:
                yield self._info(
                    doc_id, "document-removed", doc_id, f"document {o.code} {o.title} removed"
                )

    def _sections(self) -> Iterator[Change]:
        """Sections of the published text added, removed, retitled or renumbered; a section
        whose anchor changed but whose number and place stayed is reported as renamed."""
        for doc_id, n in self.new.documents.items():
            o = self.old.documents.get(doc_id)
            if o is None:
                continue
            before = {s.anchor: s for s in o.all_sections()}
            after = {s.anchor: s for s in n.all_sections()}
            gone = {a: s for a, s in before.items() if a not in after}
            renamed: dict[str, m.Section] = {}
            for a, s in after.items():
                if a in before:
                    continue
                twin = next((g for g in gone.values() if g.number and g.number == s.number), None)
                twin_taken = twin is not None and twin.number in {
                    x.number for x in after.values() if x.anchor in before
                }
                if twin is not None and not twin_taken:
                    renamed[twin.anchor] = s
                    yield self._info(
                        doc_id,
                        "section-renamed",
                        f"section {a}",
                        f"§{s.number} {twin.title} (#{twin.anchor}) is now {s.title} (#{a})",
                    )
                else:
                    number = f"§{s.number} " if s.number else ""
                    yield self._info(
                        doc_id, "section-added", f"section {a}", f"new {number}{s.title}"
                    )
            for a, s in gone.items():
                if a not in renamed:
                    number = f"§{s.number} " if s.number else ""
                    yield self._info(
                        doc_id, "section-removed", f"section {a}", f"{number}{s.title} removed"
                    )
            for a, s in after.items():
                old_s = before.get(a)
                if old_s is None:
                    continue
                if old_s.number != s.number:
                    yield self._info(
                        doc_id,
                        "section-renumbered",
                        f"section {a}",
                        f"{s.title}: §{old_s.number} → §{s.number}",
                    )
                if old_s.title != s.title:
                    yield self._info(
                        doc_id,
                        "section-retitled",
                        f"section {a}",
                        f"§{s.number} {old_s.title} → {s.title}",
                    )

    def _primitive_document(self, spec: m.Spec, p: m.Primitive) -> str:
        """Primitives live in the shared file or in a document's folder."""
        folder = Path(p.pos.path).parent.name
        return folder if folder in spec.documents else ""

    def _primitives(self) -> Iterator[Change]:
        """Value types are names; a field switching to another one is reported at the field,
        so only a changed schema matters here (it changes every field of that type)."""
        for name, n in self.new.primitives.items():
            o = self.old.primitives.get(name)
            doc = self._primitive_document(self.new, n)
            if o is None:
                yield self._change(doc, "primitive-added", name, "value type added", _Verdict())
            elif _key(o.schema) != _key(n.schema):
                relation = _schema_relation(o.schema, n.schema)
                yield self._change(
                    doc,
                    "primitive-changed",
                    name,
                    f"schema `{_key(o.schema)}` → `{_key(n.schema)}` ({relation})",
                    self._relation_verdict(name, relation),
                )
        for name, o in self.old.primitives.items():
            if name not in self.new.primitives:
                doc = self._primitive_document(self.old, o)
                yield self._change(doc, "primitive-removed", name, "value type removed", _Verdict())

    # -- objects ---------------------------------------------------------------------------
    def _object_renames(self) -> dict[str, str]:
        """Objects that disappeared under one name and appeared under another with the same
        document, section (same anchor, or same section number when the section was renamed
        too) and field names: a rename, which does not show on the wire."""
        gone = [o for n, o in self.old.objects.items() if n not in self.new.objects]
        came = [o for n, o in self.new.objects.items() if n not in self.old.objects]
        out: dict[str, str] = {}

        def place(spec: m.Spec, obj: m.ObjectType) -> str:
            doc = spec.documents.get(obj.document)
            section = doc.section_by_anchor().get(obj.anchor) if doc else None
            return f"§{section.number}" if section and section.number else obj.anchor

        for o in gone:
            matches = [
                n
                for n in came
                if n.document == o.document
                and (n.anchor == o.anchor or place(self.new, n) == place(self.old, o))
                and set(n.fields) == set(o.fields)
            ]
            if len(matches) == 1 and matches[0].name not in out.values():
                out[o.name] = matches[0].name
        return out

    def _objects(self) -> Iterator[Change]:
        back = {v: k for k, v in self.renamed_objects.items()}
        for name, n in self.new.objects.items():
            old_name = back.get(name, name)
            o = self.old.objects.get(old_name)
            if o is None:
                yield self._change(
                    n.document, "object-added", name, f"object added ({n.title})", _Verdict()
                )
                continue
            if old_name != name:
                yield self._change(
                    n.document,
                    "object-renamed",
                    name,
                    f"object renamed from `{old_name}` "
                    "(names are not on the wire; generated class names change)",
                    _Verdict(),
                )
            yield from self._object(o, n)
        for name, o in self.old.objects.items():
            if name not in self.new.objects and name not in self.renamed_objects:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(
                    o.document, "object-removed", name, f"object removed ({o.title})", v
                )

    def _own_fields(self, spec: m.Spec, obj: m.ObjectType) -> dict[str, m.Field]:
        """Fields not inherited unchanged from a base object (those are reported on the base)."""
        base = spec.objects.get(obj.base) if obj.base else None
        if base is None:
            return obj.fields
        return {
            k: f
            for k, f in obj.fields.items()
            if not (k in base.fields and base.fields[k].pos == f.pos)
        }

    def _object(self, o: m.ObjectType, n: m.ObjectType) -> Iterator[Change]:
        name = n.name
        if o.kind != n.kind:
            yield self._info(n.document, "object-kind", name, f"kind {o.kind} → {n.kind}")
        if o.base != n.base:
            yield self._info(
                n.document,
                "object-base",
                name,
                f"base object `{o.base}` → `{n.base}` (field changes listed separately)",
            )
        if o.extensible and not n.extensible:
            yield self._change(
                n.document,
                "object-closed",
                name,
                "object no longer accepts fields beyond those defined",
                self._flow(name, writer="may no longer add fields of their own"),
            )
        elif n.extensible and not o.extensible:
            yield self._change(
                n.document,
                "object-opened",
                name,
                "object now accepts fields beyond those defined (readers ignore unknown fields)",
                _Verdict(),
            )
        old_fields, new_fields = self._own_fields(self.old, o), self._own_fields(self.new, n)
        removed = [f for k, f in old_fields.items() if k not in new_fields]
        added = [f for k, f in new_fields.items() if k not in old_fields]
        pairs = self._field_renames(removed, added)
        for fo, fn in pairs:
            v = self._field_removed_verdict(n, fo).merge(self._field_added_verdict(n, fn))
            yield self._change(
                fn.document,
                "field-renamed",
                f"{name}.{fn.name}",
                f"field renamed from `{fo.name}` (same type `{fn.type_text}`; "
                "on the wire a removal plus an addition)",
                v,
            )
        paired = {fo.name for fo, _ in pairs} | {fn.name for _, fn in pairs}
        for fd in added:
            if fd.name not in paired:
                req = "REQUIRED" if fd.required else "OPTIONAL"
                cond = f", required when {_cond(fd.required_if)}" if fd.required_if else ""
                yield self._change(
                    fd.document,
                    "field-added",
                    f"{name}.{fd.name}",
                    f"{req} field added (`{fd.type_text}`{cond})",
                    self._field_added_verdict(n, fd),
                )
        for fd in removed:
            if fd.name not in paired:
                req = "REQUIRED" if fd.required else "OPTIONAL"
                yield self._change(
                    fd.document,
                    "field-removed",
                    f"{name}.{fd.name}",
                    f"{req} field removed",
                    self._field_removed_verdict(n, fd),
                )
        for k, fn in new_fields.items():
            fo = old_fields.get(k)
            if fo is not None:
                yield from self._field(n, fo, fn)
        yield from self._object_rules(o, n)

    def _field_added_verdict(self, obj: m.ObjectType, fd: m.Field) -> _Verdict:
        if fd.required or fd.required_if:
            return self._flow(obj.name, writer="must now send it")
        return _Verdict()

    def _field_removed_verdict(self, obj: m.ObjectType, fd: m.Field) -> _Verdict:
        return self._flow(
            obj.name,
            writer=None if obj.extensible else "may no longer send it",
            reader="can no longer rely on it" if fd.required else None,
        )

    def _field_renames(
        self, removed: list[m.Field], added: list[m.Field]
    ) -> list[tuple[m.Field, m.Field]]:
        """A removed and an added field of the same type, each the only one of that type."""

        def key(f: m.Field, renames: dict[str, str]) -> str:
            return str(_rename(f.type, renames))

        pairs = []
        for fo in removed:
            t = key(fo, self.renames)
            olds = [f for f in removed if key(f, self.renames) == t]
            news = [f for f in added if key(f, {}) == t]
            if len(olds) == 1 and len(news) == 1:
                pairs.append((fo, news[0]))
        return pairs

    def _field(self, obj: m.ObjectType, fo: m.Field, fn: m.Field) -> Iterator[Change]:
        name, doc, subject = obj.name, fn.document, f"{obj.name}.{fn.name}"
        if (fo.document, fo.anchor) != (fn.document, fn.anchor) and fn.anchor:
            yield self._info(
                doc,
                "field-defined-elsewhere",
                subject,
                f"now defined by {fn.document} #{fn.anchor}"
                + (f" (was {fo.document} #{fo.anchor})" if fo.anchor else ""),
            )
        for attr, became, ceased in _FIELD_TOGGLES:
            now = getattr(fn, attr)
            if getattr(fo, attr) != now:
                kind, message, parties = became if now else ceased
                yield self._change(doc, kind, subject, message, self._flow(name, **parties))
        relation = type_relation(_rename(fo.type, self.renames), fn.type, self.old, self.new)
        if relation != "same":
            yield self._change(
                doc,
                "field-type",
                subject,
                f"type `{fo.type_text}` → `{fn.type_text}` ({relation})",
                self._relation_verdict(name, relation),
            )
        yield from self._field_values(obj, fo, fn)
        for attr, label in (
            ("required_if", "required when"),
            ("forbidden_if", "forbidden when"),
            ("only_if", "allowed only when"),
        ):
            a, b = _cond(getattr(fo, attr)), _cond(getattr(fn, attr))
            if a == b:
                continue
            if a is None:
                yield self._change(
                    doc,
                    "field-condition-added",
                    subject,
                    f"now {label} {b}",
                    self._flow(name, writer=f"must follow the new condition ({label} {b})"),
                )
            elif b is None:
                yield self._change(
                    doc,
                    "field-condition-removed",
                    subject,
                    f"no longer {label} {a}",
                    self._flow(name, reader=f"can no longer rely on it being {label} {a}"),
                )
            else:
                yield self._change(
                    doc,
                    "field-condition-changed",
                    subject,
                    f"{label} {a} → {label} {b}",
                    self._flow(
                        name,
                        writer="must follow the new condition",
                        reader="can no longer rely on the old condition",
                    ),
                )
        if fo.read_only != fn.read_only:
            state = "read-only" if fn.read_only else "no longer read-only"
            yield self._info(doc, "field-read-only", subject, f"now {state}")

    def _field_values(self, obj: m.ObjectType, fo: m.Field, fn: m.Field) -> Iterator[Change]:
        name, doc, subject = obj.name, fn.document, f"{obj.name}.{fn.name}"
        if (fo.has_const, _key(fo.const)) != (fn.has_const, _key(fn.const)):
            if not fo.has_const:
                yield self._change(
                    doc,
                    "field-const",
                    subject,
                    f"now fixed to `{fn.const}`",
                    self._flow(name, writer=f"must send exactly `{fn.const}`"),
                )
            elif not fn.has_const:
                yield self._change(
                    doc,
                    "field-const",
                    subject,
                    f"no longer fixed to `{fo.const}`",
                    self._flow(name, reader=f"may now receive values other than `{fo.const}`"),
                )
            else:
                yield self._change(
                    doc,
                    "field-const",
                    subject,
                    f"fixed value `{fo.const}` → `{fn.const}`",
                    self._flow(
                        name, writer=f"must send `{fn.const}`", reader=f"must accept `{fn.const}`"
                    ),
                )
        a, b = fo.allowed_values, fn.allowed_values
        if a != b:
            enum = next((self.new.enums[t] for t in names_in(fn.type) if t in self.new.enums), None)
            tolerant = enum is not None and enum.open
            if b is not None:
                gone = [x for x in (a if a is not None else ()) if x not in b]
                if a is None:
                    yield self._change(
                        doc,
                        "field-allowed-values",
                        subject,
                        f"now limited to {_fmt(b)}",
                        self._flow(name, writer=f"may only send {_fmt(b)}"),
                    )
                elif gone:
                    yield self._change(
                        doc,
                        "field-allowed-values",
                        subject,
                        f"no longer allows {_fmt(gone)}",
                        self._flow(name, writer=f"may no longer send {_fmt(gone)}"),
                    )
            if a is not None:
                more = [x for x in (b if b is not None else ()) if x not in a]
                if b is None or more:
                    what = (
                        "no longer limited to " + _fmt(a)
                        if b is None
                        else "now also allows " + _fmt(more)
                    )
                    yield self._change(
                        doc,
                        "field-allowed-values",
                        subject,
                        what,
                        self._value_added_verdict(name, tolerant),
                    )
        if fo.min_items != fn.min_items:
            lo, hi = fo.min_items or 0, fn.min_items or 0
            if hi > lo:
                yield self._change(
                    doc,
                    "field-min-items",
                    subject,
                    f"at least {hi} item(s), was {lo}",
                    self._flow(name, writer=f"must send at least {hi} item(s)"),
                )
            else:
                yield self._change(
                    doc,
                    "field-min-items",
                    subject,
                    f"at least {hi} item(s), was {lo}",
                    self._flow(name, reader=f"may now receive fewer than {lo} item(s)"),
                )
        if (fo.has_default, _key(fo.default)) != (fn.has_default, _key(fn.default)):
            before = f"`{fo.default}`" if fo.has_default else "none"
            after = f"`{fn.default}`" if fn.has_default else "none"
            yield self._change(
                doc,
                "field-default",
                subject,
                f"default {before} → {after} (an absent value now means something else)",
                self._flow(
                    name,
                    writer="must send the value when the new default does not fit",
                    reader="must read an absent value differently",
                ),
            )

    def _object_rules(self, o: m.ObjectType, n: m.ObjectType) -> Iterator[Change]:
        def key(r: m.ObjectRule) -> str:
            return _key(
                [r.when.describe(), sorted(r.require), sorted(r.require_any), sorted(r.forbid)]
            )

        old_rules, new_rules = {key(r): r for r in o.rules}, {key(r): r for r in n.rules}
        for k, r in new_rules.items():
            if k not in old_rules:
                yield self._change(
                    r.document or n.document,
                    "object-rule-added",
                    n.name,
                    f"new rule: when {r.when.describe()}, {self._rule_text(r)}",
                    self._flow(n.name, writer="must follow the new rule"),
                )
        for k, r in old_rules.items():
            if k not in new_rules:
                yield self._change(
                    r.document or n.document,
                    "object-rule-removed",
                    n.name,
                    f"rule removed: when {r.when.describe()}, {self._rule_text(r)}",
                    self._flow(n.name, reader="can no longer rely on the rule"),
                )

    @staticmethod
    def _rule_text(r: m.ObjectRule) -> str:
        parts = []
        if r.require:
            parts.append("require " + _fmt(r.require))
        if r.require_any:
            parts.append("require one of " + _fmt(r.require_any))
        if r.forbid:
            parts.append("forbid " + _fmt(r.forbid))
        return ", ".join(parts)

    # -- enums -----------------------------------------------------------------------------
    def _value_added_verdict(self, name: str, open_enum: bool) -> _Verdict:
        v = _Verdict()
        for d in self._dirs(name):
            if d == RESPONSE and not open_enum:
                v.breaks(CLIENTS, "must accept the new value (the enumeration is closed)")
            if d == REQUEST:
                v.breaks(SERVERS, "must accept the new value in requests")
        return v

    def _value_removed_verdict(self, name: str, open_enum: bool) -> _Verdict:
        v = _Verdict()
        for d in self._dirs(name):
            if d == RESPONSE and not open_enum:
                v.breaks(SERVERS, "may no longer send the value")
            if d == REQUEST:
                v.breaks(CLIENTS, "may no longer send the value")
        return v

    def _enums(self) -> Iterator[Change]:
        for name, n in self.new.enums.items():
            o = self.old.enums.get(name)
            if o is None:
                yield self._change(
                    n.document,
                    "enum-added",
                    name,
                    f"enumeration added ({_fmt(n.values)})",
                    _Verdict(),
                )
                continue
            if o.open and not n.open:
                v = _Verdict()
                if RESPONSE in self._dirs(name):
                    v.breaks(SERVERS, "may no longer send values of their own")
                yield self._change(
                    n.document,
                    "enum-closed",
                    name,
                    "enumeration closed: values beyond those defined are no longer allowed",
                    v,
                )
            elif n.open and not o.open:
                v = _Verdict()
                if RESPONSE in self._dirs(name):
                    v.breaks(CLIENTS, "must now accept values they do not know")
                yield self._change(
                    n.document,
                    "enum-opened",
                    name,
                    "enumeration opened: Servers may send values no document defines",
                    v,
                )
            renamed = _renamed_values(list(o.values), list(n.values))
            for before, after in renamed.items():
                yield self._change(
                    n.document,
                    "enum-value-renamed",
                    f"{name}.{after}",
                    f"value renamed: `{before}` → `{after}`",
                    self._flow(
                        name,
                        writer=f"must send `{after}` instead of `{before}`",
                        reader=f"must read `{after}` where they read `{before}`",
                    ),
                )
            for value, ev in n.values.items():
                if value in renamed.values():
                    continue
                if value not in o.values:
                    yield self._change(
                        ev.document or n.document,
                        "enum-value-added",
                        f"{name}.{value}",
                        "value added"
                        + (" (open enumeration)" if n.open else " (closed enumeration)"),
                        self._value_added_verdict(name, n.open),
                    )
                elif (ev.document or n.document) != (o.values[value].document or o.document):
                    before = o.values[value].document or o.document
                    yield self._info(
                        ev.document or n.document,
                        "enum-value-moved",
                        f"{name}.{value}",
                        f"value now defined by {ev.document or n.document} (was {before})",
                    )
                elif ev.deprecated != o.values[value].deprecated:
                    state = "deprecated" if ev.deprecated else "no longer deprecated"
                    yield self._info(
                        ev.document or n.document,
                        "enum-value-deprecated",
                        f"{name}.{value}",
                        f"value {state}",
                    )
            for value, ev in o.values.items():
                if value not in n.values and value not in renamed:
                    yield self._change(
                        ev.document or n.document,
                        "enum-value-removed",
                        f"{name}.{value}",
                        "value removed",
                        self._value_removed_verdict(name, n.open),
                    )
        for name, o in self.old.enums.items():
            if name not in self.new.enums:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(o.document, "enum-removed", name, "enumeration removed", v)

    # -- unions ----------------------------------------------------------------------------
    def _unions(self) -> Iterator[Change]:
        for name, n in self.new.unions.items():
            o = self.old.unions.get(name)
            if o is None:
                yield self._change(n.document, "union-added", name, "union added", _Verdict())
                continue
            if o.discriminator != n.discriminator:
                yield self._change(
                    n.document,
                    "union-discriminator",
                    name,
                    f"discriminator `{o.discriminator}` → `{n.discriminator}`",
                    self._flow(
                        name,
                        writer="must mark members the new way",
                        reader="must tell members apart the new way",
                    ),
                )
            if bool(o.fallback) != bool(n.fallback):
                if n.fallback:
                    yield self._change(
                        n.document,
                        "union-fallback-added",
                        name,
                        f"unknown members now fall back to `{n.fallback}`",
                        self._flow(name, reader="must accept members no document defines"),
                    )
                else:
                    yield self._change(
                        n.document,
                        "union-fallback-removed",
                        name,
                        "members no document defines are no longer allowed",
                        self._flow(name, writer="may no longer send members of their own"),
                    )
            if n.discriminator and o.discriminator == n.discriminator:
                yield from self._union_mapping(o, n)
            else:
                old_members = {str(_rename(t, self.renames)) for t in o.members}
                new_members = {str(t) for t in n.members}
                for t in sorted(new_members - old_members):
                    yield self._change(
                        n.document,
                        "union-member-added",
                        f"{name}.{t}",
                        "member added",
                        self._flow(name, reader="may now receive it"),
                    )
                for t in sorted(old_members - new_members):
                    yield self._change(
                        n.document,
                        "union-member-removed",
                        f"{name}.{t}",
                        "member removed",
                        self._flow(name, writer="may no longer send it"),
                    )
        for name, o in self.old.unions.items():
            if name not in self.new.unions:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(o.document, "union-removed", name, "union removed", v)

    def _union_mapping(self, o: m.UnionType, n: m.UnionType) -> Iterator[Change]:
        name = n.name
        for value, member in n.mapping.items():
            before = o.mapping.get(value)
            if before is None:
                v = _Verdict()
                for d in self._dirs(name):
                    w, r = _roles(d)
                    if not (r == CLIENTS and n.fallback):
                        v.breaks(r, "must accept the new member")
                yield self._change(
                    n.document,
                    "union-member-added",
                    f"{name}.{value}",
                    f"member `{value}` → `{member}` added",
                    v,
                )
            elif self.renames.get(before, before) != member:
                yield self._change(
                    n.document,
                    "union-member-changed",
                    f"{name}.{value}",
                    f"member `{value}` now `{member}` (was `{before}`)",
                    self._flow(
                        name, writer="must send the new member", reader="must read the new member"
                    ),
                )
        for value, member in o.mapping.items():
            if value not in n.mapping:
                v = _Verdict()
                for d in self._dirs(name):
                    w, r = _roles(d)
                    if not (w == SERVERS and n.fallback):
                        v.breaks(w, "may no longer send it")
                yield self._change(
                    n.document,
                    "union-member-removed",
                    f"{name}.{value}",
                    f"member `{value}` (`{member}`) removed",
                    v,
                )

    # -- endpoints -------------------------------------------------------------------------
    def _endpoints(self) -> Iterator[Change]:
        for op, n in self.new.endpoints.items():
            o = self.old.endpoints.get(op)
            subject = op
            if o is None:
                yield self._change(
                    n.document,
                    "endpoint-added",
                    subject,
                    f"endpoint added ({n.method} {n.path})",
                    _Verdict(),
                )
                continue
            yield from self._endpoint(o, n)
        for op, o in self.old.endpoints.items():
            if op not in self.new.endpoints:
                v = _Verdict().breaks(CLIENTS, "can no longer call it")
                yield self._change(
                    o.document, "endpoint-removed", op, f"endpoint removed ({o.method} {o.path})", v
                )

    def _both(self, what: str) -> _Verdict:
        return _Verdict().breaks(CLIENTS, f"must call {what}").breaks(SERVERS, f"must serve {what}")

    def _endpoint(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        if o.method != n.method:
            yield self._change(
                doc,
                "endpoint-method",
                op,
                f"method {o.method} → {n.method}",
                self._both(f"it with {n.method}"),
            )
        if o.path != n.path:
            if o.advertised_by and n.advertised_by:
                yield self._change(
                    doc,
                    "endpoint-path",
                    op,
                    f"conventional path {o.path} → {n.path} "
                    f"(the URL is discovered through `{n.advertised_by}`)",
                    _Verdict(),
                )
            else:
                yield self._change(
                    doc,
                    "endpoint-path",
                    op,
                    f"path {o.path} → {n.path}",
                    self._both(f"it at {n.path}"),
                )
        if o.advertised_by != n.advertised_by:
            v = _Verdict()
            if o.advertised_by:
                where = f"in `{n.advertised_by}`" if n.advertised_by else "elsewhere"
                v.breaks(CLIENTS, f"must find its URL {where}")
            if n.advertised_by:
                v.breaks(SERVERS, f"must advertise its URL in `{n.advertised_by}`")
            yield self._change(
                doc,
                "endpoint-advertised-by",
                op,
                f"advertised by `{o.advertised_by}` → `{n.advertised_by}`",
                v,
            )
        if o.auth != n.auth:
            yield self._change(
                doc,
                "endpoint-auth",
                op,
                f"authentication {o.auth} → {n.auth}",
                self._both(f"it with {n.auth} authentication"),
            )
        for s in n.scopes:
            if s not in o.scopes:
                yield self._change(
                    doc,
                    "endpoint-scope-added",
                    op,
                    f"now also callable with scope `{s}`",
                    _Verdict().breaks(SERVERS, f"must accept tokens of scope `{s}`"),
                )
        for s in o.scopes:
            if s not in n.scopes:
                yield self._change(
                    doc,
                    "endpoint-scope-removed",
                    op,
                    f"no longer callable with scope `{s}`",
                    _Verdict().breaks(CLIENTS, f"can no longer call it with scope `{s}`"),
                )
        yield from self._parameters(o, n)
        yield from self._filters(o, n)
        if o.ordering != n.ordering:

            def text(keys: list[m.OrderKey]) -> str:
                return "by " + ", then ".join(k.describe() for k in keys) if keys else "unspecified"

            v = _Verdict()
            if o.ordering:
                v.breaks(CLIENTS, "can no longer rely on the old order")
            if n.ordering:
                v.breaks(SERVERS, "must return items in the new order")
            yield self._change(
                doc, "endpoint-ordering", op, f"order {text(o.ordering)} → {text(n.ordering)}", v
            )
        yield from self._bodies(o, n)

    def _parameters(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        old_params = {p.name: p for p in o.query_params}
        for p in n.query_params:
            q = old_params.get(p.name)
            subject = f"{op}?{p.name}"
            if q is None:
                v = _Verdict().breaks(SERVERS, "must support it")
                if p.required:
                    v.breaks(CLIENTS, "must now send it")
                yield self._change(
                    doc,
                    "parameter-added",
                    subject,
                    f"{'REQUIRED' if p.required else 'OPTIONAL'} query parameter added",
                    v,
                )
                continue
            if q.required != p.required:
                if p.required:
                    yield self._change(
                        doc,
                        "parameter-required",
                        subject,
                        "OPTIONAL → REQUIRED",
                        _Verdict().breaks(CLIENTS, "must now send it"),
                    )
                else:
                    yield self._change(
                        doc,
                        "parameter-optional",
                        subject,
                        "REQUIRED → OPTIONAL",
                        _Verdict().breaks(SERVERS, "must handle its absence"),
                    )
            if str(q.type) != str(p.type):
                yield self._change(
                    doc,
                    "parameter-type",
                    subject,
                    f"type `{q.type}` → `{p.type}`",
                    self._both("it with the new parameter type"),
                )
        new_params = {p.name for p in n.query_params}
        for q in o.query_params:
            if q.name not in new_params:
                yield self._change(
                    doc,
                    "parameter-removed",
                    f"{op}?{q.name}",
                    "query parameter removed",
                    _Verdict().breaks(CLIENTS, "can no longer use it"),
                )

    def _filters(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        old_filters = {f.name: f for f in o.filters}
        for f in n.filters:
            g = old_filters.get(f.name)
            subject = f"{op}?{f.name}"
            if g is None:
                yield self._change(
                    doc,
                    "filter-added",
                    subject,
                    f"filter added ({f.syntax})",
                    _Verdict().breaks(
                        SERVERS, "must support it (ignoring it would return unfiltered results)"
                    ),
                )
                continue
            for attr in ("syntax", "matches", "compare"):
                if getattr(g, attr) != getattr(f, attr):
                    yield self._change(
                        doc,
                        "filter-changed",
                        subject,
                        f"{attr} `{getattr(g, attr)}` → `{getattr(f, attr)}`",
                        self._both("it with the new filter semantics"),
                    )
            more = [x for x in f.fields if x not in g.fields]
            fewer = [x for x in g.fields if x not in f.fields]
            if more:
                yield self._change(
                    doc,
                    "filter-fields-added",
                    subject,
                    f"now also searches {_fmt(more)}",
                    _Verdict().breaks(SERVERS, f"must also search {_fmt(more)}"),
                )
            if fewer:
                yield self._change(
                    doc,
                    "filter-fields-removed",
                    subject,
                    f"no longer searches {_fmt(fewer)}",
                    _Verdict().breaks(CLIENTS, f"can no longer find items by {_fmt(fewer)}"),
                )
        new_filters = {f.name for f in n.filters}
        for g in o.filters:
            if g.name not in new_filters:
                yield self._change(
                    doc,
                    "filter-removed",
                    f"{op}?{g.name}",
                    "filter removed",
                    _Verdict().breaks(CLIENTS, "can no longer filter with it"),
                )

    def _bodies(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        a = _rename(o.request_type, self.renames) if o.request_type else None
        b = n.request_type
        if (a is None) != (b is None):
            if b is not None:
                yield self._change(
                    doc,
                    "request-body",
                    op,
                    f"now takes a `{b}` request body",
                    _Verdict()
                    .breaks(CLIENTS, "must now send a body")
                    .breaks(SERVERS, "must read the body"),
                )
            else:
                yield self._change(
                    doc,
                    "request-body",
                    op,
                    "no longer takes a request body",
                    _Verdict().breaks(CLIENTS, "may no longer send a body"),
                )
        elif a is not None and b is not None and a != b:
            relation = type_relation(a, b, self.old, self.new)
            v = _Verdict()
            if relation in ("narrower", "different"):
                v.breaks(CLIENTS, "must send the new request body")
            if relation in ("wider", "different"):
                v.breaks(SERVERS, "must accept the new request body")
            yield self._change(
                doc, "request-body", op, f"request body `{o.request_type}` → `{b}` ({relation})", v
            )
        if o.request_content_type != n.request_content_type and a is not None and b is not None:
            yield self._change(
                doc,
                "request-content-type",
                op,
                f"request media type {o.request_content_type} → {n.request_content_type}",
                self._both("it with the new media type"),
            )
        old_resp = {r.status: r for r in o.responses}
        for r in n.responses:
            q = old_resp.get(r.status)
            subject = f"{op} {r.status}"
            if q is None:
                yield self._change(
                    doc,
                    "response-added",
                    subject,
                    f"response {r.status} documented" + (f" (`{r.type}`)" if r.type else ""),
                    _Verdict(),
                )
                continue
            a = _rename(q.type, self.renames) if q.type else None
            if a != r.type:
                if a is None or r.type is None:
                    relation = "different"
                else:
                    relation = type_relation(a, r.type, self.old, self.new)
                v = _Verdict()
                if relation in ("narrower", "different"):
                    v.breaks(SERVERS, "must send the new response body")
                if relation in ("wider", "different"):
                    v.breaks(CLIENTS, "must read the new response body")
                yield self._change(
                    doc,
                    "response-type",
                    subject,
                    f"response body `{q.type}` → `{r.type}` ({relation})",
                    v,
                )
            if q.content_type != r.content_type:
                yield self._change(
                    doc,
                    "response-content-type",
                    subject,
                    f"media type {q.content_type} → {r.content_type}",
                    _Verdict()
                    .breaks(CLIENTS, "must read the new media type")
                    .breaks(SERVERS, "must send the new media type"),
                )
        statuses = {r.status for r in n.responses}
        for q in o.responses:
            if q.status not in statuses:
                yield self._change(
                    doc,
                    "response-removed",
                    f"{op} {q.status}",
                    f"response {q.status} no longer documented",
                    _Verdict(),
                )

    # -- scopes and authorization-details fields -------------------------------------------
    def _rule_verdict(self, verdict: str, what: str) -> _Verdict:
        if verdict == TIGHTENED:
            return _Verdict().breaks(SERVERS, f"must meet the stricter rule on {what}")
        if verdict == LOOSENED:
            return _Verdict().breaks(CLIENTS, f"can no longer rely on the old rule on {what}")
        return (
            _Verdict()
            .breaks(SERVERS, f"must meet the new rule on {what}")
            .breaks(CLIENTS, f"can no longer rely on the old rule on {what}")
        )

    def _requirement_changes(
        self,
        doc: str,
        kind: str,
        subject: str,
        old: Requirements,
        new: Requirements,
        where: str = "",
    ) -> Iterator[Change]:
        for name in list(new) + [k for k in old if k not in new]:
            for verdict, text in constraint_changes(old.get(name), new.get(name)):
                what = f"`{name}`"
                yield self._change(
                    doc,
                    f"{kind}-{verdict}",
                    subject,
                    f"{where}{what} {text}",
                    self._rule_verdict(verdict, what),
                )

    def _rules(
        self, doc: str, kind: str, subject: str, old: list[m.ScopeRule], new: list[m.ScopeRule]
    ) -> Iterator[Change]:
        old_rules = {r.when.key(): r for r in old}
        new_rules = {r.when.key(): r for r in new}
        for k, r in new_rules.items():
            where = f"when {r.when.describe()}: "
            q = old_rules.get(k)
            before = q.requirements if q else Requirements()
            before_fields = q.authorization_details_fields if q else Requirements()
            if q is None:
                yield self._change(
                    doc,
                    f"{kind}-rule-added",
                    subject,
                    f"new rule {where.rstrip(': ')}",
                    self._rule_verdict(TIGHTENED, "the new rule"),
                )
            yield from self._requirement_changes(doc, kind, subject, before, r.requirements, where)
            yield from self._requirement_changes(
                doc,
                kind,
                subject,
                before_fields,
                r.authorization_details_fields,
                f"{where}authorization details field ",
            )
        for k, q in old_rules.items():
            if k not in new_rules:
                yield self._change(
                    doc,
                    f"{kind}-rule-removed",
                    subject,
                    f"rule when {q.when.describe()} removed",
                    self._rule_verdict(LOOSENED, "the removed rule"),
                )

    def _list_growth(
        self, doc: str, kind: str, subject: str, label: str, old: list[str], new: list[str]
    ) -> Iterator[Change]:
        more = [x for x in new if x not in old]
        fewer = [x for x in old if x not in new]
        if more:
            yield self._change(
                doc,
                f"{kind}-{TIGHTENED}",
                subject,
                f"{label} now also {_fmt(more)}",
                self._rule_verdict(TIGHTENED, label),
            )
        if fewer:
            yield self._change(
                doc,
                f"{kind}-{LOOSENED}",
                subject,
                f"{label} no longer {_fmt(fewer)}",
                self._rule_verdict(LOOSENED, label),
            )

    def _scopes(self) -> Iterator[Change]:
        for sid, n in self.new.scopes.items():
            o = self.old.scopes.get(sid)
            subject = f"scope {sid}"
            if o is None:
                yield self._change(
                    n.document,
                    "scope-added",
                    subject,
                    f"scope added ({n.name}, {n.category})",
                    _Verdict(),
                )
                continue
            doc = n.document
            if o.category != n.category:
                yield self._change(
                    doc,
                    "scope-category",
                    subject,
                    f"category {o.category} → {n.category}",
                    self._rule_verdict(CHANGED, "its category"),
                )
            yield from self._requirement_changes(
                doc, "scope", subject, o.requirements, n.requirements
            )
            yield from self._list_growth(
                doc,
                "scope",
                subject,
                "conditional authorization details types",
                o.conditional_authorization_details_types,
                n.conditional_authorization_details_types,
            )
            yield from self._requirement_changes(
                doc,
                "scope",
                subject,
                o.authorization_details_fields,
                n.authorization_details_fields,
                "authorization details field ",
            )
            yield from self._rules(doc, "scope", subject, o.rules, n.rules)
            yield from self._list_growth(
                doc, "scope", subject, "default includes", o.default_includes, n.default_includes
            )
            if o.forbid_preselection_in_grants != n.forbid_preselection_in_grants:
                verdict = TIGHTENED if n.forbid_preselection_in_grants else LOOSENED
                state = "now" if n.forbid_preselection_in_grants else "no longer"
                yield self._change(
                    doc,
                    f"scope-{verdict}",
                    subject,
                    f"preselection fields {state} forbidden in Grants",
                    self._rule_verdict(verdict, "preselection in Grants"),
                )
        for sid, o in self.old.scopes.items():
            if sid not in self.new.scopes:
                yield self._change(
                    o.document,
                    "scope-removed",
                    f"scope {sid}",
                    f"scope removed ({o.name})",
                    _Verdict().breaks(CLIENTS, "can no longer request it"),
                )

    def _auth_fields(self) -> Iterator[Change]:
        for fid, n in self.new.authorization_details_fields.items():
            o = self.old.authorization_details_fields.get(fid)
            subject = f"authorization details field {fid}"
            if o is None:
                yield self._change(
                    n.document,
                    "authorization-details-field-added",
                    subject,
                    f"field added ({n.name}, {n.category})",
                    _Verdict(),
                )
                continue
            doc, kind = n.document, "authorization-details-field"
            if o.category != n.category:
                yield self._change(
                    doc,
                    f"{kind}-category",
                    subject,
                    f"category {o.category} → {n.category}",
                    self._rule_verdict(CHANGED, "its category"),
                )
            if str(o.value_type) != str(n.value_type) or o.value_nullable != n.value_nullable:

                def text(t: TypeExpr | None, nullable: bool) -> str:
                    return f"`{t}`" + (" or `null`" if nullable else "")

                yield self._change(
                    doc,
                    f"{kind}-value-type",
                    subject,
                    f"value type {text(o.value_type, o.value_nullable)} → "
                    f"{text(n.value_type, n.value_nullable)}",
                    _Verdict()
                    .breaks(CLIENTS, "must send values in the new form")
                    .breaks(SERVERS, "must read and echo values in the new form"),
                )
            yield from self._requirement_changes(doc, kind, subject, o.requirements, n.requirements)
            yield from self._rules(doc, kind, subject, o.rules, n.rules)
        for fid, o in self.old.authorization_details_fields.items():
            if fid not in self.new.authorization_details_fields:
                yield self._change(
                    o.document,
                    "authorization-details-field-removed",
                    f"authorization details field {fid}",
                    f"field removed ({o.name})",
                    _Verdict().breaks(CLIENTS, "can no longer use it"),
                )

    # -- errata and examples ---------------------------------------------------------------
    def _errata(self) -> Iterator[Change]:
        old = {e.id: e for e in self.old.errata}
        new = {e.id: e for e in self.new.errata}
        for eid, e in new.items():
            before = old.get(eid)
            if before is None:
                yield self._info(e.document, "erratum-added", f"erratum {eid}", f"new: {e.problem}")
            elif (before.problem, before.normative, before.resolution, before.target) != (
                e.problem,
                e.normative,
                e.resolution,
                e.target,
            ):
                yield self._info(
                    e.document, "erratum-changed", f"erratum {eid}", f"changed: {e.problem}"
                )
        for eid, e in old.items():
            if eid not in new:
                yield self._info(
                    e.document, "erratum-resolved", f"erratum {eid}", f"resolved: {e.problem}"
                )

    def _examples(self) -> Iterator[Change]:
        for eid, e in self.new.examples.items():
            before = self.old.examples.get(eid)
            if before is None:
                yield self._info(e.document, "example-added", f"example {eid}", e.summary)
            elif before.text != e.text:
                yield self._info(
                    e.document,
                    "example-changed",
                    f"example {eid}",
                    f"{_line_changes(before.text, e.text)} ({e.summary})",
                )
        for eid, e in self.old.examples.items():
            if eid not in self.new.examples:
                yield self._info(e.document, "example-removed", f"example {eid}", e.summary)


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


# -- text output ---------------------------------------------------------------------------------
def _version_text(d: DocumentSide) -> str:
    if d.old_version is None:
        return f"new, {d.new_version}"
    if d.new_version is None:
        return f"removed, was {d.old_version}"
    if d.old_version == d.new_version:
        return f"version {d.new_version}"
    return f"version {d.old_version} → {d.new_version}"


def _who(c: Change) -> str:
    broken = [p.capitalize() for p in (CLIENTS, SERVERS) if getattr(c, p) == BREAKING]
    return "breaking for " + " and ".join(broken)


def render_text(report: DiffReport) -> str:
    """The report as readable text: grouped by document, breaking changes first."""
    lines = [f"cdsgen diff {report.old_label} → {report.new_label}"]
    if not report.changes:
        lines.append("no changes")
        return "\n".join(lines) + "\n"
    for side, changes in report.by_document():
        title = f"{side.code} {side.title} ({_version_text(side)})" if side.id else "Shared types"
        lines += ["", title]
        for severity in SEVERITIES:
            group = [c for c in changes if c.severity == severity]
            if not group:
                continue
            lines.append(f"  {severity} ({len(group)})")
            for c in group:
                who = f" [{_who(c)}]" if severity == BREAKING else ""
                where = f" (#{c.anchor})" if c.anchor else ""
                lines.append(f"    - {c.subject}{where}: {c.message}{who}")
                if c.why:
                    lines.append(f"        {c.why}")
    n = report.counts()
    lines += [
        "",
        f"{len(report.changes)} change(s): {n[BREAKING]} breaking "
        f"({n['breaking_for_clients']} for Clients, {n['breaking_for_servers']} for Servers), "
        f"{n[COMPATIBLE]} compatible, {n[INFO]} informational",
    ]
    for d in report.unbumped():
        lines.append(
            f"note: {d.code} has breaking changes but its version is still {d.new_version}"
        )
    return "\n".join(lines) + "\n"
