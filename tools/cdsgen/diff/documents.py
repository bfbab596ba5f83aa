"""Documents, their outline and primitive types; errata and examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cdsgen import model as m
from cdsgen.diff.core import (
    Change,
    DifferBase,
    _key,
    _line_changes,
    _schema_relation,
    _Verdict,
)


class DocumentsDiff(DifferBase):
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
