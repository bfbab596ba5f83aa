"""What every part of the builder shares: the files, the diagnostics, the model being built,
the documents (built first: everything else is placed in one) and how names and anchors are
claimed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics, Pos
from cdsgen.sourcefiles import DRAFT_FOLDER
from cdsgen.types import TypeSyntaxError, parse_type
from cdsgen.yamlpos import LoadedYaml

#: The two versions a document can have: the released text and the editor's draft. The
#: draft of ``spec/<id>/`` is the complete source in ``spec/<id>/dev/``; a document without
#: that folder has no draft of its own, so its released text stands in the draft version.
RELEASED, DRAFT = "latest", DRAFT_FOLDER
VERSIONS = (RELEASED, DRAFT)


@dataclass
class _File:
    path: Path
    name: str  # as shown in diagnostics
    doc: str | None  # document id (folder), None for shared files
    y: LoadedYaml
    broken: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) with schema errors


def _listed(value: Any) -> list:
    """A kind that is a list (extensions, errata); anything else was reported by the schema."""
    return value if isinstance(value, list) else []


class BuilderBase:
    """The state of one build and the helpers every kind of item uses."""

    def __init__(self, files: list[_File], diags: Diagnostics):
        self.files = files
        self.d = diags
        self.spec = m.Spec({}, {}, {}, {}, {}, [], {}, {}, [], {}, {})
        self.broken_names: set[str] = set()
        #: Every item left out for schema errors, by kind: references to them would only
        #: repeat the schema error as follow-on errors, so they are not reported.
        self.broken_items: set[tuple[str, str]] = set()
        #: Fields and values of extensions whose target is unknown, with where that is
        #: reported: a reference to one of them is a follow-on problem of that error.
        self.orphans: dict[str, Pos] = {}
        self.defined_at: dict[str, Pos] = {}
        self.doc_files: dict[str, list[_File]] = {}
        self.anchor_use: dict[tuple[str, str, str], Pos] = {}  # (doc, kind, anchor)

    # -- entry -------------------------------------------------------------------------------
    def build(self) -> m.Spec:
        for f in self.files:
            self.broken_items |= f.broken
            for kind, name in f.broken:
                if kind in ("objects", "enums", "unions", "primitives"):
                    self.broken_names.add(name)
        self._documents()
        for f in self.files:
            self._primitives(f)
        for f in self._ordered_doc_files():
            self._named_types(f)
        for f in self._ordered_doc_files():
            self._extensions(f)
        for f in self._ordered_doc_files():
            self._endpoints(f)
            self._scopes(f)
            self._examples(f)
            self._errata(f)
        self._resolve()
        return self.spec

    def _ordered_doc_files(self) -> list[_File]:
        return [f for doc in self.spec.documents for f in self.doc_files.get(doc, [])]

    # -- documents ---------------------------------------------------------------------------
    def _documents(self) -> None:
        found: dict[str, tuple[_File, dict]] = {}
        for f in self.files:
            data = f.y.data.get("document")
            if f.doc is None:
                if data is not None:
                    self.d.error(
                        f.y.pos(("document",)),
                        "a document belongs in spec/<id>/document.yaml",
                        rule="document",
                    )
                continue
            self.doc_files.setdefault(f.doc, []).append(f)
            if data is None or ("document", "") in f.broken:
                continue
            if any(k == "document" for k, _ in f.broken) or not isinstance(data, dict):
                continue
            if data.get("id") != f.doc:
                self.d.error(
                    f.y.value_pos(("document", "id")),
                    f"document id '{data.get('id')}' does not match its folder '{f.doc}'",
                    rule="document",
                )
            if f.doc in found:
                self.d.error(
                    f.y.pos(("document",)),
                    f"second document definition for '{f.doc}'",
                    rule="document",
                )
                continue
            found[f.doc] = (f, data)
        for doc in self.doc_files:
            if doc not in found and not any("document" in fl.y.data for fl in self.doc_files[doc]):
                first = self.doc_files[doc][0]
                self.d.error(
                    Pos(first.name),
                    f"folder '{doc}' has no document.yaml with a `document` key",
                    rule="document",
                )
        # dependency order (stable: by id), reporting unknown dependencies and cycles
        order: list[str] = []
        visiting: set[str] = set()

        def visit(doc: str) -> None:
            if doc in order:
                return
            if doc in visiting:
                f, _ = found[doc]
                self.d.error(
                    f.y.pos(("document", "depends_on")),
                    f"dependency cycle through '{doc}'",
                    rule="dependency-cycle",
                )
                return
            visiting.add(doc)
            f, data = found[doc]
            for i, dep in enumerate(data.get("depends_on", [])):
                if dep not in found:
                    self.d.error(
                        f.y.value_pos(("document", "depends_on", i)),
                        f"unknown document '{dep}'",
                        rule="unknown-document",
                    )
                else:
                    visit(dep)
            visiting.discard(doc)
            order.append(doc)

        for doc in sorted(found):
            visit(doc)
        for doc in order:
            f, data = found[doc]
            self.spec.documents[doc] = m.Document(
                id=doc,
                code=data["code"],
                title=data["title"],
                version=str(data["version"]),
                wire_version=data.get("wire_version"),
                status=data["status"],
                published_url=data["published_url"],
                depends_on=list(data.get("depends_on", [])),
                summary=data["summary"],
                sections=[self._section(s) for s in data["sections"]],
                anchors={
                    a: v if isinstance(v, str) else v["label"]
                    for a, v in (data.get("anchors") or {}).items()
                },
                anchor_sections={
                    a: v["section"]
                    for a, v in (data.get("anchors") or {}).items()
                    if isinstance(v, dict) and "section" in v
                },
                pos=f.y.pos(("document",)),
                edition=DRAFT if f.path.parent.name == DRAFT else RELEASED,
                links_to={
                    a: v["links_to"]
                    for a, v in (data.get("anchors") or {}).items()
                    if isinstance(v, dict) and "links_to" in v
                },
            )
            document = self.spec.documents[doc]
            headings = document.section_by_anchor()
            for a, section in document.anchor_sections.items():
                if section not in headings:
                    self.d.error(
                        f.y.value_pos(("document", "anchors", a, "section")),
                        f"anchor '{a}' is placed in unknown section '{section}'",
                        rule="unknown-anchor",
                    )
            seen: dict[str, int] = {}
            for i, s in enumerate(self.spec.documents[doc].all_sections()):
                if s.anchor in seen:
                    self.d.error(
                        f.y.pos(("document",)),
                        f"duplicate section anchor '{s.anchor}'",
                        rule="duplicate-anchor",
                    )
                seen[s.anchor] = i

    def _section(self, data: dict) -> m.Section:
        return m.Section(
            number=str(data["number"]),
            title=data["title"],
            anchor=str(data["anchor"]),
            summary=data.get("summary"),
            sections=[self._section(s) for s in data.get("sections", [])],
        )

    # -- helpers -----------------------------------------------------------------------------
    def _items(self, f: _File, kind: str):
        table = f.y.data.get(kind) or {}
        if not isinstance(table, dict):
            return
        for name, data in table.items():
            if (kind, name) in f.broken or not isinstance(data, dict):
                continue
            yield name, data, (kind, name)

    def _new_items(
        self, f: _File, kind: str, table: dict[str, Any], what: str, *, unique: bool = True
    ):
        """The items of ``kind`` in ``f`` as :meth:`_items` gives them, their anchor recorded
        as a ``what``; one whose id ``table`` already holds is reported and left out."""
        for key, data, path in self._items(f, kind):
            if key in table:
                label = "operation" if what == "endpoint" else what
                self.d.error(
                    f.y.pos(path),
                    f"duplicate {label} '{key}' (also defined at {table[key].pos})",
                    rule="duplicate-item",
                )
                continue
            self._anchor(f, f.doc, what, data["anchor"], path, unique=unique)
            yield key, data, path

    def _anchor(
        self, f: _File, doc: str, kind: str, anchor: str, path: tuple, unique: bool = True
    ) -> None:
        document = self.spec.documents.get(doc)
        if document is None:
            return
        if anchor not in document.all_anchors():
            self.d.error(
                f.y.value_pos(path + ("anchor",)),
                f"anchor '{anchor}' does not exist in the published {document.code}",
                rule="unknown-anchor",
            )
        if unique:
            key = (doc, kind, anchor)
            if key in self.anchor_use:
                first = self.anchor_use[key]
                self.d.error(
                    f.y.value_pos(path + ("anchor",)),
                    f"duplicate anchor '{anchor}' for {kind} (also used at {first})",
                    rule="duplicate-anchor",
                )
            else:
                self.anchor_use[key] = f.y.value_pos(path + ("anchor",))

    def _claim_name(self, name: str, pos: Pos) -> bool:
        if name in self.defined_at:
            self.d.error(
                pos,
                f"duplicate name '{name}' (also defined at {self.defined_at[name]})",
                rule="duplicate-name",
            )
            return False
        self.defined_at[name] = pos
        return True

    def _type(self, f: _File, text: str, path: tuple):
        try:
            return parse_type(str(text))
        except TypeSyntaxError as exc:
            self.d.error(f.y.value_pos(path), str(exc), rule="type-syntax")
            return None

    def _valid_regex(self, f: _File, pattern: str, path: tuple) -> bool:
        try:
            re.compile(pattern)
        except re.error as exc:
            self.d.error(
                f.y.value_pos(path + ("extra_fields_pattern",)),
                f"'{pattern}' is not a valid regex: {exc}",
                rule="schema",
            )
            return False
        return True

    def _condition(self, data: dict | None) -> m.Condition | None:
        if not data:
            return None
        op = next(k for k in data if k != "field")
        return m.Condition(data["field"], op, data[op])
