"""The one typed model of the specification that every emitter reads.

Built by :mod:`cdsgen.loader` from the YAML source with every name resolved and every
extension applied. Emitters never see YAML; they see these classes. Each item keeps the
document it belongs to, its permalink anchor and its source position (for diagnostics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cdsgen.diagnostics import Pos
from cdsgen.rules import Requirements, ScopeRule
from cdsgen.types import ArrayOf, TypeExpr


@dataclass
class Section:
    number: str
    title: str
    anchor: str
    summary: str | None = None
    sections: list[Section] = field(default_factory=list)

    def walk(self):
        yield self
        for s in self.sections:
            yield from s.walk()


@dataclass
class Document:
    id: str
    code: str
    title: str
    version: str
    wire_version: str | None
    status: str
    published_url: str
    depends_on: list[str]
    summary: str
    sections: list[Section]
    #: Non-heading anchors of the published text (terms, references) with short labels.
    anchors: dict[str, str]
    pos: Pos
    #: Non-heading anchor -> the heading anchor of the section it stands in.
    anchor_sections: dict[str, str] = field(default_factory=dict)
    #: Which text this source transcribes: ``latest`` (the release) or ``dev`` (the draft).
    edition: str = "latest"
    #: References to other documents: anchor → ``<document>@<version>[#<anchor>]``.
    links_to: dict[str, str] = field(default_factory=dict)
    _sections_index: tuple[tuple[int, ...], dict[str, Section]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def all_sections(self) -> list[Section]:
        return [s for top in self.sections for s in top.walk()]

    def section_by_anchor(self) -> dict[str, Section]:
        """Every section by its anchor. Emitters ask for this once per link, so the index is
        built once per list of top-level sections (which the loader sets, then leaves)."""
        key = tuple(map(id, self.sections))
        if self._sections_index is None or self._sections_index[0] != key:
            self._sections_index = (key, {s.anchor: s for s in self.all_sections()})
        return self._sections_index[1]

    def all_anchors(self) -> frozenset[str]:
        """Every anchor (headings and others); the loader asks once per reference."""
        return frozenset(self.section_by_anchor()).union(self.anchors)

    def link(self, anchor: str) -> str:
        """URL of an anchor in the published text."""
        return f"{self.published_url}#{anchor}"


@dataclass
class Primitive:
    name: str
    summary: str
    schema: dict[str, Any]
    anchor: str | None
    pos: Pos


@dataclass
class Condition:
    field: str
    op: str  # equals | contains | in | present | not_empty
    value: Any

    def describe(self) -> str:
        if self.op == "present":
            return f"`{self.field}` is present"
        if self.op == "not_empty":
            return f"`{self.field}` is not empty"
        if self.op == "in":
            return f"`{self.field}` is one of " + ", ".join(f"`{v}`" for v in self.value)
        verb = {"equals": "is", "contains": "contains"}[self.op]
        return f"`{self.field}` {verb} `{self.value}`"


@dataclass
class Field:
    name: str
    type: TypeExpr
    type_text: str
    required: bool
    nullable: bool
    summary: str
    pos: Pos
    #: Document and anchor that define the field (an extension's, for added fields).
    document: str = ""
    anchor: str | None = None
    const: Any = None
    has_const: bool = False
    allowed_values: list[Any] | None = None
    default: Any = None
    has_default: bool = False
    examples: list[Any] | None = None
    min_items: int | None = None
    items_nullable: bool = False
    read_only: bool = False
    #: Where the field comes from when the anchored section does not list it (e.g. an RFC).
    origin: str | None = None
    required_if: Condition | None = None
    forbidden_if: Condition | None = None
    only_if: Condition | None = None
    #: Object whose id this string (or each string of this list) holds.
    refers_to: str | None = None

    @property
    def many(self) -> bool:
        """The value is a list (of ids, for a reference)."""
        return isinstance(self.type, ArrayOf)


@dataclass
class ObjectRule:
    when: Condition
    summary: str
    require: list[str] = field(default_factory=list)
    require_any: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    document: str = ""
    anchor: str | None = None


@dataclass
class ObjectType:
    name: str
    document: str
    anchor: str
    title: str
    summary: str
    kind: str
    extensible: bool
    fields: dict[str, Field]
    rules: list[ObjectRule]
    pos: Pos
    base: str | None = None
    #: Names matching this pattern are extra fields the Server defines (e.g. registration
    #: fields named in its metadata); even strict validation accepts them.
    extra_fields_pattern: str | None = None
    #: Where the object is defined when the CDS text does not list its fields (e.g. an RFC).
    origin: str | None = None
    #: Anchors of the sections of later documents that extend this object.
    extensions: list[tuple[str, str]] = field(default_factory=list)  # (document, anchor)


@dataclass
class EnumValue:
    name: str
    summary: str
    pos: Pos
    document: str = ""
    anchor: str | None = None
    deprecated: bool = False


@dataclass
class EnumType:
    name: str
    document: str
    anchor: str
    title: str
    summary: str
    open: bool
    values: dict[str, EnumValue]
    pos: Pos
    extensions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class UnionType:
    name: str
    document: str
    anchor: str
    title: str
    summary: str
    discriminator: str | None
    #: discriminator value -> object name (discriminated), else an empty dict.
    mapping: dict[str, str]
    #: Member type expressions (for discriminated unions: the mapped objects).
    members: list[TypeExpr]
    fallback: str | None
    pos: Pos
    #: Positional unions: (sibling array field, its discriminator) selecting the member.
    selected_by: tuple[str, str] | None = None


@dataclass
class Extension:
    document: str
    anchor: str
    extends: str
    summary: str
    pos: Pos


@dataclass
class Parameter:
    name: str
    type: TypeExpr
    required: bool
    summary: str


@dataclass
class Filter:
    name: str
    syntax: str
    summary: str
    matches: str | None
    compare: str
    fields: list[str]


@dataclass(frozen=True)
class OrderKey:
    """One key of a listing's order; with ``through``, ``by`` is a field of the related
    ``object`` whose ids the listed object holds in that field."""

    by: str
    direction: str  # ascending | descending
    through: str | None = None
    object: str | None = None

    def describe(self) -> str:
        where = f" of the `{self.through}` {self.object}" if self.through else ""
        return f"`{self.by}`{where}, {self.direction}"


@dataclass
class Response:
    status: int
    summary: str
    type: TypeExpr | None
    content_type: str


@dataclass
class Endpoint:
    operation_id: str
    document: str
    anchor: str
    summary: str
    group: str
    method: str
    path: str
    advertised_by: str | None
    well_known: bool
    auth: str
    scopes: list[str]
    path_params: list[Parameter]
    query_params: list[Parameter]
    filters: list[Filter]
    #: Keys of the listing's order, most significant first (empty: no order published).
    ordering: list[OrderKey]
    request_type: TypeExpr | None
    request_content_type: str | None
    responses: list[Response]
    pos: Pos

    @property
    def is_listing(self) -> bool:
        return bool(self.filters) or bool(self.ordering)

    def success(self) -> Response | None:
        return next((r for r in self.responses if 200 <= r.status < 300), None)


@dataclass
class HttpMessage:
    """One side of a published HTTP exchange."""

    start_line: str
    headers: list[tuple[str, str]]
    body_text: str
    #: The body parsed as JSON (after tolerated repairs), or None when there is none.
    body: Any = None
    body_is_json: bool = False
    #: Repairs needed to parse the body (e.g. trailing commas); empty for valid JSON.
    repairs: list[str] = field(default_factory=list)
    parse_error: str | None = None
    #: Line (1-based, within the source file) where the body starts.
    body_line: int = 0

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Example:
    id: str
    document: str
    anchor: str
    summary: str
    operation: str | None
    object_type: TypeExpr | None
    text: str
    request: HttpMessage | None
    response: HttpMessage | None
    json_body: HttpMessage | None
    pos: Pos
    errata: list[str] = field(default_factory=list)

    @property
    def method(self) -> str | None:
        return self.request.start_line.split()[0] if self.request else None

    @property
    def target(self) -> str | None:
        return self.request.start_line.split()[1] if self.request else None

    @property
    def status(self) -> int | None:
        if not self.response:
            return None
        parts = self.response.start_line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@dataclass
class Erratum:
    id: str
    document: str
    anchor: str
    target: dict[str, str]
    problem: str
    normative: str | None
    resolution: str
    pos: Pos
    #: Substrings of the example problems this erratum accounts for.
    covers: list[str] = field(default_factory=list)
    #: Versions of other documents this erratum holds with (e.g. ``{"cds-wg1-02": "latest"}``).
    when_version: dict[str, str] = field(default_factory=dict)
    #: For an example erratum: how the example reads once corrected (``part``, ``fill_from``,
    #: ``patch``; see :mod:`cdsgen.corrections`), or None when it corrects nothing.
    correction: dict[str, Any] | None = None


@dataclass
class Scope:
    type: str
    document: str
    anchor: str
    name: str
    summary: str
    category: str
    #: Constraints on the Scope Description's own fields.
    requirements: Requirements
    conditional_authorization_details_types: list[str]
    #: Constraints on its Authorization Details Field objects, by field id.
    authorization_details_fields: Requirements
    rules: list[ScopeRule]
    default_includes: list[str]
    forbid_preselection_in_grants: bool
    pos: Pos


@dataclass
class AuthorizationDetailsFieldRule:
    id: str
    document: str
    anchor: str
    name: str
    summary: str
    category: str
    #: Constraints on the Authorization Details Field object (its id, format, …).
    requirements: Requirements
    rules: list[ScopeRule]
    value_type: TypeExpr | None
    value_nullable: bool
    pos: Pos
    #: For an ``include_*`` field: object → the OPTIONAL fields it enables.
    fills: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Spec:
    """The whole specification: all documents, resolved."""

    documents: dict[str, Document]
    primitives: dict[str, Primitive]
    objects: dict[str, ObjectType]
    enums: dict[str, EnumType]
    unions: dict[str, UnionType]
    extensions: list[Extension]
    endpoints: dict[str, Endpoint]
    examples: dict[str, Example]
    errata: list[Erratum]
    scopes: dict[str, Scope]
    authorization_details_fields: dict[str, AuthorizationDetailsFieldRule]
    #: Values derived from the finished model that several emitters ask for, made once
    #: (e.g. the corrected example bodies; see :mod:`cdsgen.corrections`).
    derived: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def kind_of(self, name: str) -> str | None:
        for kind, table in (
            ("primitive", self.primitives),
            ("object", self.objects),
            ("enum", self.enums),
            ("union", self.unions),
        ):
            if name in table:
                return kind
        return None

    def document_of(self, name: str) -> str | None:
        item = self.objects.get(name) or self.enums.get(name) or self.unions.get(name)
        return item.document if item else None

    def references(self) -> dict[str, list[Field]]:
        """Object → its fields that hold ids of other objects (``refers_to``)."""
        out: dict[str, list[Field]] = {}
        for obj in self.objects.values():
            links = [f for f in obj.fields.values() if f.refers_to]
            if links:
                out[obj.name] = links
        return out

    def errata_for(self, **target: str) -> list[Erratum]:
        if set(target) == {"example"}:
            return list(self._errata_by_example().get(target["example"], ()))
        return [e for e in self.errata if all(e.target.get(k) == v for k, v in target.items())]

    def _errata_by_example(self) -> dict[str, list[Erratum]]:
        """Errata by the example they target, made once (errata of examples are looked up
        for every example by lint, the OpenAPI and the site); made again if errata were
        added since."""
        key = ("errata by example", len(self.errata))
        index = self.derived.get(key)
        if index is None:
            index = self.derived[key] = {}
            for e in self.errata:
                if "example" in e.target:
                    index.setdefault(e.target["example"], []).append(e)
        return index
