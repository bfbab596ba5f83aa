"""Load ``spec/`` into one resolved :class:`~cdsgen.model.Spec`.

Every file is parsed with positions and checked against the meta-schema; items with schema
errors are left out of the model (their problems are reported once, and references to them
are not reported again). Then names are resolved and extensions applied, reporting
structural problems with the position of the offending key.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import yaml
from jsonschema.exceptions import best_match

from cdsgen import model as m
from cdsgen.cache import cached_parse, cached_validator
from cdsgen.diagnostics import Diagnostics, Pos
from cdsgen.http_example import parse_exchange, parse_json_body
from cdsgen.rules import Requirements, ScopeRule
from cdsgen.sourcefiles import DRAFT_FOLDER, find_source_files, read_source_bytes
from cdsgen.types import TypeSyntaxError, names_in, parse_type
from cdsgen.yamlpos import LoadedYaml, decode_source, load_yaml

#: The meta-schema's one source; ``cdsgen generate`` also publishes it as JSON for editors
#: (generated/jsonschema/cdsgen-source.schema.json).
SCHEMA_PATH = Path(__file__).with_name("schema") / "source.schema.yaml"

#: Top-level kinds whose entries are named items (name -> definition).
_NAMED_KINDS = (
    "primitives",
    "objects",
    "enums",
    "unions",
    "endpoints",
    "examples",
    "scopes",
    "authorization_details_fields",
)


#: The C loader when PyYAML has libyaml (the same result, ten times faster).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _fast_meta_validator():
    """The meta-schema compiled to Python: ~25x faster than jsonschema on valid files, which
    are nearly all of them; jsonschema runs only to describe the problems of invalid ones."""
    return cached_validator(copy.deepcopy(meta_schema()))  # it annotates what it gets


@cache
def meta_schema() -> dict[str, Any]:
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=_SafeLoader)


@dataclass
class _File:
    path: Path
    name: str  # as shown in diagnostics
    doc: str | None  # document id (folder), None for shared files
    y: LoadedYaml
    broken: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) with schema errors


#: The two versions a document can have: the released text and the editor's draft. The
#: draft of ``spec/<id>/`` is the complete source in ``spec/<id>/dev/``; a document without
#: that folder has no draft of its own, so its released text stands in the draft version.
RELEASED, DRAFT = "latest", DRAFT_FOLDER
VERSIONS = (RELEASED, DRAFT)

#: Schema problems reported per file; beyond it the file is cut short with a note, so a file
#: of a million broken objects costs seconds, not hours.
MAX_SCHEMA_ERRORS_PER_FILE = 200

#: The kinds a shared file (at the top of ``spec/``) may hold; the rest belong to a document.
_SHARED_KINDS = {"primitives"}


def draft_documents(root: Path) -> list[str]:
    """Ids of the documents that have a draft of their own (``spec/<id>/dev/``)."""
    if not root.is_dir():
        return []
    return sorted(p.parent.parent.name for p in root.glob(f"*/{DRAFT}/document.yaml"))


def load_spec(root: Path, diags: Diagnostics) -> m.Spec:
    """Load and resolve the source under ``root``; problems go to ``diags``."""
    return _Builder(_read_files(root, diags), diags).build()


def load_spec_version(root: Path, version: str, diags: Diagnostics) -> m.Spec:
    """Load one version of the source: ``latest`` (what :func:`load_spec` loads) or ``dev``,
    the editor's drafts with the released text of documents that have none."""
    if version not in VERSIONS:
        diags.error(
            Pos(str(root)),
            f"unknown version '{version}' (expected one of {VERSIONS})",
            rule="version",
        )
        return _Builder([], diags).build()
    return _Builder(_read_files(root, diags, draft=version == DRAFT), diags).build()


def _read_files(root: Path, diags: Diagnostics, *, draft: bool = False) -> list[_File]:
    validator = jsonschema.Draft202012Validator(meta_schema())
    out: list[_File] = []
    for source in find_source_files(root, diags, draft=draft):
        raw = read_source_bytes(source, diags)
        if raw is None:
            continue
        text = decode_source(raw, source.name, diags)
        if text is None:
            continue
        y = cached_parse(text, source.name, diags, load_yaml)
        if y is None:
            continue
        if not isinstance(y.data, dict):
            diags.error(
                Pos(source.name),
                "a source file must be a mapping of kinds (objects, enums, …)",
                rule="not-a-mapping",
            )
            continue
        if not y.data:
            diags.error(
                Pos(source.name),
                "file defines nothing (empty or only comments): add its items or remove it",
                rule="empty-file",
            )
            continue
        f = _File(source.path, source.name, source.doc, y)
        try:
            _fast_meta_validator()(y.data)
        except fastjsonschema.JsonSchemaException:
            for count, err in enumerate(validator.iter_errors(y.data)):
                if count == MAX_SCHEMA_ERRORS_PER_FILE:
                    diags.error(
                        Pos(source.name),
                        f"more than {MAX_SCHEMA_ERRORS_PER_FILE} problems in this file; "
                        "the rest are not checked",
                        rule="schema",
                    )
                    _mark_all_broken(f)
                    break
                _report_schema_error(err, f, diags)
        if source.doc is None:
            _check_shared_kinds(f, diags)
        out.append(f)
    return out


def _mark_all_broken(f: _File) -> None:
    """Leave every item of a file cut short out of the model."""
    for kind in (*_NAMED_KINDS, "extensions", "errata"):
        table = f.y.data.get(kind)
        if isinstance(table, dict):
            f.broken.update((kind, str(name)) for name in table)
        elif isinstance(table, list):
            f.broken.update((kind, str(i)) for i in range(len(table)))


def _check_shared_kinds(f: _File, diags: Diagnostics) -> None:
    """A shared file outside any document folder may hold primitives only; anything else in
    it would belong to no document and be left out of every artefact."""
    for kind in f.y.data:
        if kind in _SHARED_KINDS or kind == "document":
            continue
        diags.error(
            f.y.pos((kind,)),
            f"'{kind}' in a shared file belongs to no document: move it into a document "
            "folder (spec/<document-id>/); shared files hold primitives only",
            rule="misplaced-kind",
        )


def _report_schema_error(err: jsonschema.ValidationError, f: _File, diags: Diagnostics) -> None:
    if err.context:
        deeper = best_match(err.context)
        if deeper is not None and len(deeper.absolute_path) >= len(err.absolute_path):
            err = deeper
    path = tuple(err.absolute_path)
    if len(path) >= 2 and path[0] in (*_NAMED_KINDS, "extensions", "errata"):
        f.broken.add((str(path[0]), str(path[1])))  # left out of the model
    elif path and path[0] == "document":
        f.broken.add(("document", ""))  # the document with a broken definition is left out
    message = err.message
    pos = f.y.value_pos(path)
    rule = "schema"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        rule = "unknown-key"
        known = err.schema.get("properties", {})
        key = next((k for k in err.instance if k not in known), None)
        if key is not None:
            pos = f.y.pos(path + (key,))
            message = f"unknown key '{key}'" + _where(path)
    elif err.validator == "required":
        rule = "missing-key"
        missing = re.findall(r"'([^']+)' is a required property", message)
        pos = f.y.pos(path) if path else Pos(f.name)
        if missing:
            message = f"missing required key '{missing[0]}'" + _where(path)
    elif err.validator == "minLength" and path and path[-1] == "summary":
        rule = "missing-description"
        message = "missing description (empty summary)"
    elif err.validator == "pattern" and isinstance(err.instance, str):
        rule = "invalid-name"
        words = _PATTERN_WORDS.get(err.validator_value, f"match {err.validator_value}")
        if "propertyNames" in err.schema_path:
            pos = f.y.pos(path + (err.instance,))
            where = str(path[-1]) if path else "the file"
            message = f"'{err.instance}' is not a valid name in {where}: a name must {words}"
        else:
            what = path[-1] if path else "value"
            message = f"'{err.instance}' is not a valid {what}: it must {words}" + _where(path)
    else:
        message = f"{message}{_where(path)}"
    diags.error(pos, message, rule=rule)


#: The meta-schema's patterns in words, so a message says what is allowed.
_PATTERN_WORDS = {
    "^[a-z][A-Za-z0-9]*$": "start with a lower-case letter, then letters and digits (camelCase)",
    "^[a-z0-9][a-z0-9-]*$": "use lower-case letters, digits and hyphens",
    "^[a-z][a-z0-9_]*$": "start with a lower-case letter, then lower-case letters, digits and "
    "underscores (snake_case, no spaces)",
    "^[A-Z][A-Za-z0-9]*$": "start with an upper-case letter, then letters and digits (PascalCase)",
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$": "use letters, digits, '_', '.' and '-'",
    "^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and underscores, not starting with a digit "
    "(no spaces)",
    "^/": "start with '/'",
    "^cds-[a-z0-9]+-[0-9]+$": "look like cds-wg1-01",
    "^[1-5][0-9][0-9]$": "be HTTP status codes (100-599)",
    "^[0-9]+(\\.[0-9]+)*$|^$": "be a section number such as 7.2.1",
    "^[A-Z][A-Za-z0-9]*\\.[a-z_][a-z0-9_]*$": "be Object.field",
}


def _listed(value: Any) -> list:
    """A kind that is a list (extensions, errata); anything else was reported by the schema."""
    return value if isinstance(value, list) else []


def _where(path: tuple) -> str:
    if not path:
        return ""
    return " (in " + "/".join(str(p) for p in path) + ")"


class _Builder:
    """Turns validated files into the model, resolving names and extensions."""

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

    # -- primitives and named types ------------------------------------------------------------
    def _primitives(self, f: _File) -> None:
        for name, data, path in self._items(f, "primitives"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            try:
                jsonschema.Draft202012Validator.check_schema(data["schema"])
            except jsonschema.SchemaError as exc:
                where = path + ("schema", *exc.absolute_path)
                self.d.error(
                    f.y.value_pos(where),
                    f"not a valid JSON Schema: {exc.message}",
                    rule="schema",
                )
                self.broken_names.add(name)
                continue
            self.spec.primitives[name] = m.Primitive(
                name, data["summary"], data["schema"], data.get("anchor"), f.y.pos(path)
            )

    def _named_types(self, f: _File) -> None:
        doc = f.doc
        if doc not in self.spec.documents:
            return
        for name, data, path in self._items(f, "objects"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            # a variant (an object with a `base`) is defined by its base's section
            self._anchor(f, doc, "object", data["anchor"], path, unique=not data.get("base"))
            pattern = data.get("extra_fields_pattern")
            if pattern is not None and not self._valid_regex(f, pattern, path):
                data = {**data, "extra_fields_pattern": None}
            fields = self._fields(f, doc, data.get("fields", {}), path + ("fields",), None)
            self.spec.objects[name] = m.ObjectType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                kind=data.get("kind", "data"),
                extensible=data.get("extensible", True),
                extra_fields_pattern=data.get("extra_fields_pattern"),
                origin=data.get("origin"),
                fields=fields,
                rules=self._rules(f, doc, data.get("rules", []), None),
                pos=f.y.pos(path),
                base=data.get("base"),
            )
        for name, data, path in self._items(f, "enums"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            self._anchor(f, doc, "enum", data["anchor"], path)
            self.spec.enums[name] = m.EnumType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                open=data.get("open", True),
                values=self._enum_values(f, doc, data["values"], path + ("values",), None),
                pos=f.y.pos(path),
            )
        for name, data, path in self._items(f, "unions"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            self._anchor(f, doc, "union", data["anchor"], path)
            members_data = data.get("members") or {}
            mapping: dict[str, str] = {}
            members: list = []
            if isinstance(members_data, dict):
                mapping = dict(members_data)
                members = [parse_type(v) for v in members_data.values()]
            else:
                for i, text in enumerate(members_data):
                    t = self._type(f, text, path + ("members", i))
                    if t is not None:
                        members.append(t)
            selected = data.get("selected_by")
            if mapping and not data.get("discriminator") and not selected:
                self.d.error(
                    f.y.pos(path + ("members",)),
                    "members by value need a `discriminator` or `selected_by`",
                    rule="union",
                )
            self.spec.unions[name] = m.UnionType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                discriminator=data.get("discriminator"),
                mapping=mapping,
                members=members,
                fallback=data.get("fallback"),
                pos=f.y.pos(path),
                selected_by=(selected["field"], selected["discriminator"]) if selected else None,
            )

    def _fields(
        self, f: _File, doc: str, data: dict, path: tuple, anchor: str | None
    ) -> dict[str, m.Field]:
        """The fields of an object or extension; one whose type does not parse is reported
        and left out."""
        out: dict[str, m.Field] = {}
        for fname, fd in data.items():
            fpath = path + (fname,)
            t = self._type(f, fd["type"], fpath + ("type",))
            if t is None:
                continue
            out[fname] = m.Field(
                name=fname,
                type=t,
                type_text=str(fd["type"]),
                required=fd["required"],
                nullable=fd.get("nullable", False),
                summary=fd["summary"],
                pos=f.y.pos(fpath),
                document=doc,
                anchor=fd.get("anchor", anchor),
                const=fd.get("const"),
                has_const="const" in fd,
                allowed_values=fd.get("allowed_values"),
                default=fd.get("default"),
                has_default="default" in fd,
                examples=fd.get("examples"),
                min_items=fd.get("min_items"),
                items_nullable=fd.get("items_nullable", False),
                read_only=fd.get("read_only", False),
                origin=fd.get("origin"),
                required_if=self._condition(fd.get("required_if")),
                forbidden_if=self._condition(fd.get("forbidden_if")),
                only_if=self._condition(fd.get("only_if")),
                refers_to=fd.get("refers_to"),
            )
            if fd.get("anchor"):
                self._anchor(f, doc, "field", fd["anchor"], fpath, unique=False)
        return out

    def _rules(self, f: _File, doc: str, data: list, anchor: str | None) -> list[m.ObjectRule]:
        return [
            m.ObjectRule(
                when=self._condition(r["when"]),
                summary=r["summary"],
                require=list(r.get("require", [])),
                require_any=list(r.get("require_any", [])),
                forbid=list(r.get("forbid", [])),
                document=doc,
                anchor=anchor,
            )
            for r in data
        ]

    def _enum_values(self, f: _File, doc: str, data: dict, path: tuple, anchor: str | None):
        out: dict[str, m.EnumValue] = {}
        for value, vd in data.items():
            vpath = path + (value,)
            if isinstance(vd, str):
                vd = {"summary": vd}
            out[str(value)] = m.EnumValue(
                name=str(value),
                summary=vd["summary"],
                pos=f.y.pos(vpath),
                document=doc,
                anchor=vd.get("anchor", anchor),
                deprecated=vd.get("deprecated", False),
            )
            if vd.get("anchor"):
                self._anchor(f, doc, "value", vd["anchor"], vpath, unique=False)
        return out

    # -- extensions ----------------------------------------------------------------------------
    def _holds(self, f: _File, path: tuple, data: dict) -> bool:
        """Whether an entry with ``when_version`` holds in the versions being built."""
        wanted = data.get("when_version") or {}
        for doc in wanted:
            if doc not in self.spec.documents:
                self.d.error(
                    f.y.pos(path + ("when_version", doc)),
                    f"when_version names unknown '{doc}'",
                    rule="version",
                )
                return False
        return all(self.spec.documents[d].edition == v for d, v in wanted.items())

    def _extensions(self, f: _File) -> None:
        doc = f.doc
        if doc not in self.spec.documents:
            return
        for i, data in enumerate(_listed(f.y.data.get("extensions"))):
            path = ("extensions", i)
            if ("extensions", str(i)) in f.broken or not isinstance(data, dict):
                continue
            if not self._holds(f, path, data):
                continue
            self._anchor(f, doc, "extension", data["anchor"], path, unique=False)
            target = data["extends"]
            ext = m.Extension(doc, data["anchor"], target, data["summary"], f.y.pos(path))
            self.spec.extensions.append(ext)
            obj, enum = self.spec.objects.get(target), self.spec.enums.get(target)
            if obj is None and enum is None:
                if target not in self.broken_names:
                    cause = f.y.value_pos(path + ("extends",))
                    self.d.error(
                        cause, f"extension of unknown object or enum '{target}'", rule="extension"
                    )
                    for member in [*(data.get("fields") or {}), *(data.get("values") or {})]:
                        self.orphans.setdefault(str(member), cause)
                continue
            base = obj or enum
            if base.document == doc:
                self.d.error(
                    f.y.value_pos(path + ("extends",)),
                    f"'{target}' is defined by {doc} itself; add to it instead of extending it",
                    rule="extension",
                )
                continue
            if base.document not in self._dependencies(doc):
                self.d.error(
                    f.y.value_pos(path + ("extends",)),
                    f"{doc} extends '{target}' of {base.document}, which it does not depend on",
                    rule="extension",
                )
            kind, wrong = ("fields", "values") if obj is not None else ("values", "fields")
            if data.get(wrong):
                what = "an object" if obj is not None else "an enum"
                self.d.error(
                    f.y.pos(path + (wrong,)),
                    f"'{target}' is {what}; extend it with `{kind}`",
                    rule="extension",
                )
            if obj is not None:
                added = self._fields(
                    f, doc, data.get("fields") or {}, path + (kind,), data["anchor"]
                )
                self._add_members(obj.fields, added, "field", target)
                obj.rules.extend(self._rules(f, doc, data.get("rules", []), data["anchor"]))
            else:
                added = self._enum_values(
                    f, doc, data.get("values") or {}, path + (kind,), data["anchor"]
                )
                self._add_members(enum.values, added, "value", target)
            if (doc, data["anchor"]) not in base.extensions:
                base.extensions.append((doc, data["anchor"]))

    def _add_members(self, existing: dict, added: dict, what: str, target: str) -> None:
        """Add an extension's fields or values, reporting any that the target already has."""
        for name, item in added.items():
            if name in existing:
                self.d.error(
                    item.pos,
                    f"duplicate {what} '{name}': '{target}' already has it "
                    f"(defined at {existing[name].pos})",
                    rule="duplicate-member",
                )
            else:
                existing[name] = item

    def _dependencies(self, doc: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.spec.documents[doc].depends_on)
        while stack:
            d = stack.pop()
            if d in out or d not in self.spec.documents:
                continue
            out.add(d)
            stack.extend(self.spec.documents[d].depends_on)
        return out

    # -- endpoints, scopes, examples, errata --------------------------------------------------
    def _endpoints(self, f: _File) -> None:
        doc = f.doc
        for op, data, path in self._new_items(f, "endpoints", self.spec.endpoints, "endpoint"):
            responses = []
            for status, rd in data["responses"].items():
                t = (
                    self._type(f, rd["type"], path + ("responses", status, "type"))
                    if rd.get("type")
                    else None
                )
                responses.append(
                    m.Response(
                        int(status), rd["summary"], t, rd.get("content_type", "application/json")
                    )
                )
            request = data.get("request")
            ordering = data.get("ordering")
            self.spec.endpoints[op] = m.Endpoint(
                operation_id=op,
                document=doc,
                anchor=data["anchor"],
                summary=data["summary"],
                group=data.get("group", "Default"),
                method=data["method"],
                path=data["path"],
                advertised_by=data.get("advertised_by"),
                well_known=data.get("well_known", False),
                auth=data.get("auth", "none"),
                scopes=list(data.get("scopes", [])),
                path_params=self._params(f, data, path, "path_params"),
                query_params=self._params(f, data, path, "query_params"),
                filters=[
                    m.Filter(
                        name=fname,
                        syntax=fd["syntax"],
                        summary=fd["summary"],
                        matches=fd.get("matches"),
                        compare=fd.get("compare", "in"),
                        fields=list(fd.get("fields", [])),
                    )
                    for fname, fd in (data.get("filters") or {}).items()
                ],
                ordering=[
                    m.OrderKey(k["by"], k["direction"], k.get("through"), k.get("object"))
                    for k in ([ordering] if isinstance(ordering, dict) else ordering or [])
                ],
                request_type=self._type(f, request["type"], path + ("request", "type"))
                if request
                else None,
                request_content_type=request.get("content_type", "application/json")
                if request
                else None,
                responses=sorted(responses, key=lambda r: r.status),
                pos=f.y.pos(path),
            )

    def _params(self, f: _File, data: dict, path: tuple, key: str) -> list[m.Parameter]:
        out = []
        for pname, pd in (data.get(key) or {}).items():
            t = self._type(f, pd.get("type", "string"), path + (key, pname, "type"))
            required = pd.get("required", key == "path_params")
            out.append(m.Parameter(pname, t, required, pd["summary"]))
        return out

    def _scope_rules(self, data: list) -> list[ScopeRule]:
        return [ScopeRule.parse(r) for r in data]

    def _scopes(self, f: _File) -> None:
        doc = f.doc
        for sid, data, path in self._new_items(f, "scopes", self.spec.scopes, "scope"):
            self.spec.scopes[sid] = m.Scope(
                type=sid,
                document=doc,
                anchor=data["anchor"],
                name=data["name"],
                summary=data["summary"],
                category=data["category"],
                requirements=Requirements.parse(data["requirements"]),
                conditional_authorization_details_types=list(
                    data.get("conditional_authorization_details_types", [])
                ),
                authorization_details_fields=Requirements.parse(
                    data.get("authorization_details_fields")
                ),
                rules=self._scope_rules(data.get("rules", [])),
                default_includes=list(data.get("default_includes", [])),
                forbid_preselection_in_grants=data.get("forbid_preselection_in_grants", False),
                pos=f.y.pos(path),
            )
        fields = self.spec.authorization_details_fields
        what = "authorization details field"
        for fid, data, path in self._new_items(f, "authorization_details_fields", fields, what):
            vt = data.get("value_type")
            self.spec.authorization_details_fields[fid] = m.AuthorizationDetailsFieldRule(
                id=fid,
                document=doc,
                anchor=data["anchor"],
                name=data["name"],
                summary=data["summary"],
                category=data["category"],
                requirements=Requirements.parse(data["requirements"]),
                rules=self._scope_rules(data.get("rules", [])),
                value_type=self._type(f, vt, path + ("value_type",)) if vt else None,
                value_nullable=data.get("value_nullable", False),
                pos=f.y.pos(path),
                fills={o: tuple(names) for o, names in data.get("fills", {}).items()},
            )

    def _examples(self, f: _File) -> None:
        doc = f.doc
        examples = self.spec.examples
        for eid, data, path in self._new_items(f, "examples", examples, "example", unique=False):
            request = response = json_body = None
            if "http" in data:
                text = data["http"]
                first = f.y.value_pos(path + ("http",)).line + 1  # block scalars start below `|`
                request, response = parse_exchange(text, first)
            else:
                text = data["json"]
                first = f.y.value_pos(path + ("json",)).line + 1
                json_body = parse_json_body(text, first)
            obj = data.get("object")
            self.spec.examples[eid] = m.Example(
                id=eid,
                document=doc,
                anchor=data["anchor"],
                summary=data["summary"],
                operation=data.get("operation"),
                object_type=self._type(f, obj, path + ("object",)) if obj else None,
                text=text,
                request=request,
                response=response,
                json_body=json_body,
                pos=f.y.pos(path),
            )

    def _errata(self, f: _File) -> None:
        doc = f.doc
        for i, data in enumerate(_listed(f.y.data.get("errata"))):
            path = ("errata", i)
            if ("errata", str(i)) in f.broken or not isinstance(data, dict):
                continue
            if not self._holds(f, path, data):
                continue
            if any(e.id == data["id"] for e in self.spec.errata):
                self.d.error(
                    f.y.value_pos(path + ("id",)),
                    f"duplicate erratum id '{data['id']}'",
                    rule="duplicate-item",
                )
                continue
            self._anchor(f, doc, "erratum", data["anchor"], path, unique=False)
            self.spec.errata.append(
                m.Erratum(
                    id=data["id"],
                    document=doc,
                    anchor=data["anchor"],
                    target={k: str(v) for k, v in data["target"].items()},
                    problem=data["problem"],
                    normative=data.get("normative"),
                    resolution=data["resolution"],
                    pos=f.y.pos(path),
                    covers=list(data.get("covers", [])),
                    when_version=dict(data.get("when_version") or {}),
                    correction=dict(data["correction"]) if data.get("correction") else None,
                )
            )

    # -- resolution ----------------------------------------------------------------------------
    def _known(self, name: str) -> bool:
        return self.spec.kind_of(name) is not None or name in self.broken_names

    def _check_type(self, t, pos: Pos, what: str) -> None:
        if t is None:
            return
        for name in names_in(t):
            if not self._known(name):
                self.d.error(pos, f"unknown type '{name}' in {what}", rule="unknown-type")

    def _apply_bases(self) -> None:
        """An object with ``base`` starts from the base's fields (including fields later
        documents add to it); its own fields override or extend them."""
        done: set[str] = set()

        def apply(obj: m.ObjectType, trail: tuple[str, ...]) -> None:
            if obj.name in done or not obj.base:
                return
            base = self.spec.objects.get(obj.base)
            if base is None or obj.base in trail:
                if base is not None:
                    self.d.error(obj.pos, f"base cycle through '{obj.base}'", rule="unknown-type")
                return
            apply(base, trail + (obj.name,))
            merged: dict[str, m.Field] = {}
            for name, fd in base.fields.items():
                if name in obj.fields:
                    merged[name] = obj.fields[name]
                else:
                    inherited = copy.copy(fd)
                    inherited.anchor = fd.anchor or base.anchor
                    merged[name] = inherited
            merged.update({n: f for n, f in obj.fields.items() if n not in merged})
            obj.fields = merged
            done.add(obj.name)

        for obj in self.spec.objects.values():
            apply(obj, ())

    def _resolve(self) -> None:
        s = self.spec
        self._apply_bases()
        for obj in s.objects.values():
            if obj.base and not self._known(obj.base):
                self.d.error(obj.pos, f"unknown base object '{obj.base}'", rule="unknown-type")
            for fd in obj.fields.values():
                self._check_type(fd.type, fd.pos, f"field '{fd.name}' of {obj.name}")
                self._check_field_values(obj, fd)
                for cond in (fd.required_if, fd.forbidden_if, fd.only_if):
                    if cond and cond.field not in obj.fields:
                        self.d.error(
                            fd.pos,
                            f"condition on unknown field '{cond.field}' of {obj.name}",
                            rule="unknown-field",
                            cause=self.orphans.get(cond.field),
                        )
            for rule in obj.rules:
                for fname in [rule.when.field, *rule.require, *rule.require_any, *rule.forbid]:
                    if fname not in obj.fields:
                        self.d.error(
                            obj.pos,
                            f"rule of {obj.name} names unknown field '{fname}'",
                            rule="unknown-field",
                            cause=self.orphans.get(fname),
                        )
        for u in s.unions.values():
            for t in u.members:
                self._check_type(t, u.pos, f"union {u.name}")
            if u.fallback:
                self._check_type(parse_type(u.fallback), u.pos, f"fallback of union {u.name}")
            if u.discriminator:
                for value, member in u.mapping.items():
                    obj = s.objects.get(member)
                    if obj is None:
                        continue
                    disc = obj.fields.get(u.discriminator)
                    if disc is None:
                        self.d.error(
                            u.pos,
                            f"member {member} of {u.name} has no field '{u.discriminator}'",
                            rule="union",
                        )
                    elif disc.has_const and disc.const != value:
                        self.d.error(
                            u.pos,
                            f"member {member} of {u.name} fixes "
                            f"{u.discriminator}='{disc.const}', not '{value}'",
                            rule="union",
                        )
        for ep in s.endpoints.values():
            self._resolve_endpoint(ep)
        for ex in s.examples.values():
            ex.errata = [e.id for e in s.errata_for(example=ex.id)]
            broken = ("endpoints", ex.operation) in self.broken_items
            if ex.operation and ex.operation not in s.endpoints and not broken:
                self.d.error(
                    ex.pos,
                    f"example '{ex.id}' names unknown operation '{ex.operation}'",
                    rule="unknown-reference",
                )
            self._check_type(ex.object_type, ex.pos, f"example '{ex.id}'")
        for sc in s.scopes.values():
            for fid in self._scope_field_ids(sc):
                if fid not in s.authorization_details_fields:
                    self.d.error(
                        sc.pos,
                        f"scope '{sc.type}' names unknown authorization details field '{fid}'",
                        rule="unknown-reference",
                    )
        self._resolve_links()
        for er in s.errata:
            self._resolve_erratum(er)

    def _resolve_links(self) -> None:
        """``refers_to`` names an object and sits on an id string or list of them; ``fills``
        names OPTIONAL fields of existing objects."""
        s = self.spec
        for obj in s.objects.values():
            for fd in obj.fields.values():
                if fd.refers_to is None:
                    continue
                where = f"{obj.name}.{fd.name}"
                if fd.refers_to not in s.objects:
                    self.d.error(
                        fd.pos,
                        f"{where} refers to unknown object '{fd.refers_to}'",
                        rule="object-link",
                    )
                if names_in(fd.type) != ["string"]:
                    self.d.error(
                        fd.pos,
                        f"{where} refers to objects but is not an id string",
                        rule="object-link",
                    )
        for adf in s.authorization_details_fields.values():
            for oname, fnames in adf.fills.items():
                obj = s.objects.get(oname)
                if obj is None:
                    self.d.error(
                        adf.pos,
                        f"'{adf.id}' fills fields of unknown object '{oname}'",
                        rule="object-link",
                    )
                    continue
                for fname in fnames:
                    fd = obj.fields.get(fname)
                    if fd is None:
                        self.d.error(
                            adf.pos,
                            f"'{adf.id}' fills unknown field {oname}.{fname}",
                            rule="object-link",
                        )
                    elif fd.required:
                        self.d.error(
                            adf.pos,
                            f"'{adf.id}' fills {oname}.{fname}, which is REQUIRED",
                            rule="object-link",
                        )

    def _check_field_values(self, obj: m.ObjectType, fd: m.Field) -> None:
        names = names_in(fd.type)
        enum = next((self.spec.enums[n] for n in names if n in self.spec.enums), None)
        if fd.allowed_values and enum is not None:
            for v in fd.allowed_values:
                if str(v) not in enum.values:
                    self.d.error(
                        fd.pos,
                        f"allowed value '{v}' of {obj.name}.{fd.name} is not a {enum.name} value",
                        rule="allowed-value",
                        cause=self.orphans.get(str(v)),
                    )

    def _resolve_endpoint(self, ep: m.Endpoint) -> None:
        s = self.spec
        for r in ep.responses:
            self._check_type(r.type, ep.pos, f"response {r.status} of {ep.operation_id}")
        self._check_type(ep.request_type, ep.pos, f"request of {ep.operation_id}")
        if ep.advertised_by:
            oname, _, fname = ep.advertised_by.partition(".")
            obj = s.objects.get(oname)
            if obj is None:
                if oname not in self.broken_names:
                    self.d.error(
                        ep.pos,
                        f"advertised_by names unknown object '{oname}'",
                        rule="unknown-field",
                    )
            elif fname not in obj.fields:
                self.d.error(
                    ep.pos,
                    f"advertised_by names unknown field '{fname}' of {oname}",
                    rule="unknown-field",
                    cause=self.orphans.get(fname),
                )
        declared = set(re.findall(r"{([^}]+)}", ep.path))
        given = {p.name for p in ep.path_params}
        for missing in sorted(declared - given):
            self.d.error(
                ep.pos,
                f"path parameter '{missing}' of {ep.operation_id} is not described",
                rule="endpoint",
            )
        for extra in sorted(given - declared):
            self.d.error(
                ep.pos, f"path parameter '{extra}' does not appear in {ep.path}", rule="endpoint"
            )
        for scope in ep.scopes:
            if s.scopes and scope not in s.scopes:
                self.d.error(
                    ep.pos, f"{ep.operation_id} names unknown scope type '{scope}'", rule="endpoint"
                )
        item = self._listed_object(ep)
        if item is None:
            return
        for flt in ep.filters:
            for fname in ([flt.matches] if flt.matches else []) + flt.fields:
                if not self._has_field_path(item, fname):
                    self.d.error(
                        ep.pos,
                        f"filter '{flt.name}' of {ep.operation_id} "
                        f"names unknown field '{fname}' of {item.name}",
                        rule="unknown-field",
                        cause=self.orphans.get(fname.split(".")[0]),
                    )
        for key in ep.ordering:
            self._check_order_key(ep, item, key)

    def _check_order_key(self, ep: m.Endpoint, item: m.ObjectType, key: m.OrderKey) -> None:
        target, where = item, item.name
        if key.through:
            related = self.spec.objects.get(key.object or "")
            if key.through not in item.fields:
                self.d.error(
                    ep.pos,
                    f"ordering of {ep.operation_id} goes through unknown field "
                    f"'{key.through}' of {item.name}",
                    rule="unknown-field",
                    cause=self.orphans.get(key.through),
                )
                return
            if related is None:
                self.d.error(
                    ep.pos,
                    f"ordering of {ep.operation_id}: `through` needs a known `object`",
                    rule="unknown-field",
                )
                return
            target, where = related, f"{related.name} (through {key.through})"
        if key.by not in target.fields:
            self.d.error(
                ep.pos,
                f"ordering of {ep.operation_id} names unknown field '{key.by}' of {where}",
                rule="unknown-field",
                cause=self.orphans.get(key.by),
            )

    def _has_field_path(self, obj: m.ObjectType, dotted: str) -> bool:
        """``a.b`` names field ``b`` of the object (or objects in the array) held by ``a``."""
        from cdsgen.types import names_in

        head, _, rest = dotted.partition(".")
        fd = obj.fields.get(head)
        if fd is None:
            return False
        if not rest:
            return True
        return any(
            self._has_field_path(self.spec.objects[n], rest)
            for n in names_in(fd.type)
            if n in self.spec.objects
        )

    def _listed_object(self, ep: m.Endpoint) -> m.ObjectType | None:
        """For a listing endpoint, the object its page lists (the first array-of-object field)."""
        from cdsgen.types import ArrayOf, Named

        ok = ep.success()
        if not ep.is_listing or ok is None or not isinstance(ok.type, Named):
            return None
        listing = self.spec.objects.get(ok.type.name)
        if listing is None:
            return None
        for fd in listing.fields.values():
            if isinstance(fd.type, ArrayOf) and isinstance(fd.type.item, Named):
                obj = self.spec.objects.get(fd.type.item.name)
                if obj is not None:
                    return obj
        return None

    def _scope_field_ids(self, sc: m.Scope) -> list[str]:
        ids: list[str] = list(sc.conditional_authorization_details_types) + list(
            sc.default_includes
        )
        ids += list(sc.authorization_details_fields)
        for rule in sc.rules:
            ids += list(rule.authorization_details_fields)
        return ids

    def _resolve_erratum(self, er: m.Erratum) -> None:
        s, t = self.spec, er.target
        problems = []
        if "example" in t and t["example"] not in s.examples:
            problems.append(f"unknown example '{t['example']}'")
        if er.correction is not None and "example" not in t:
            self.d.error(
                er.pos,
                f"erratum '{er.id}' has a correction but targets no example",
                rule="example-correction",
            )
        if "object" in t:
            obj = s.objects.get(t["object"])
            if obj is None:
                problems.append(f"unknown object '{t['object']}'")
            elif "field" in t and t["field"] not in obj.fields:
                problems.append(f"unknown field '{t['field']}' of {t['object']}")
        if "enum" in t:
            en = s.enums.get(t["enum"])
            if en is None:
                problems.append(f"unknown enum '{t['enum']}'")
            elif "value" in t and t["value"] not in en.values:
                problems.append(f"unknown value '{t['value']}' of {t['enum']}")
        if "endpoint" in t and t["endpoint"] not in s.endpoints:
            problems.append(f"unknown endpoint '{t['endpoint']}'")
        if "scope" in t and t["scope"] not in s.scopes:
            problems.append(f"unknown scope '{t['scope']}'")
        if (
            "authorization_details_field" in t
            and t["authorization_details_field"] not in s.authorization_details_fields
        ):
            problems.append(
                f"unknown authorization details field '{t['authorization_details_field']}'"
            )
        broken = {name for _, name in self.broken_items} | self.broken_names
        for p in problems:
            if not any(f"'{n}'" in p for n in broken):
                self.d.error(er.pos, f"erratum '{er.id}' targets {p}", rule="unknown-reference")
