"""The facts of a published CDS text, extracted into a snapshot the repository keeps.

The published documents are markdown. Maintainers run ``cdsgen facts PUBLISHED.md`` once per
published revision and commit the result as ``spec/<doc-id>/published-facts.json``; the fact
tests and ``cdsgen lint`` then compare the source with that snapshot on any machine, with or
without the published texts at hand.

The parser is deliberately independent of the cdsgen loader and of the YAML source: it reads
the published text itself (headings, field bullets, enumerated values, filter bullets, ordering
sentences, code blocks), so a transcription mistake in ``spec/`` cannot hide behind the same
code that produced it. The snapshot holds facts and data only (names, types, markers, values,
anchors, numbers, titles, example bodies verbatim), never descriptions or paragraphs.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdsgen.outline import PublishedOutline, PublishedSection, read_outline

#: Version of the snapshot layout; bump it when the layout changes.
FORMAT = 1
SNAPSHOT_NAME = "published-facts.json"

_HEADING = re.compile(r"^(#{2,6})\s+.*?<a id=\"([^\"]+)\"")
_BULLET = re.compile(r"^(\s*)\* `([^`]+)`(?: - (.*))?\s*$")
_MARKER = re.compile(r"^\((REQUIRED|OPTIONAL)\)")
_ORDER = re.compile(
    r"ordered in (reverse chronological|chronological|alphanumeric) order by `([^`]+)`"
)
_WIRE_VERSION = re.compile(r"^\* `(\w+)` .*?specification is `?(\w+)`?", re.MULTILINE)
_SCOPE_TYPE = re.compile(r"^\* (?:The )?`type` (?:is|value MUST be) `\"([^\"]+)\"`")
_SCOPE_ID = re.compile(r"^\* `id` is `\"([^\"]+)\"`")
_DETAILS_ID = re.compile(r"^\* The `id` value MUST be `\"([^\"]+)\"`")
_DETAILS_FORMAT = re.compile(r"^\* The `format` value MUST be (.*)$")
#: Code blocks that are examples: plain fences or JSON/HTTP ones (not diagrams).
_EXAMPLE_INFO = {"", "json", "http"}

#: Link text of published primitive types → type signature (as the fact tests compare them).
PRIMITIVES = {
    "string": "string",
    "datetime": "datetime",
    "date": "date",
    "URL": "url",
    "decimal": "number",
    "integer": "integer",
    "boolean": "boolean",
    "MIME type": "string",
    "country code": "string",
    "timezone": "string",
    "Base64": "string",
    "relative or absolute date": "string",
    "relative or absolute datetime": "string",
    "relative date": "string",
    "relative datetime": "string",
    "Map": "object",
    "JWK Public Encryption Key": "object",
    "OAuth AuthorizationDetail": "object",
    # §10.8.3: a Value Set is an array of Value Objects (or null for a missing one)
    "ValueSet": "array<ValueObject>",
}


class FactsError(Exception):
    """A published text or a snapshot that cannot be read; the message names the file."""

    def __init__(self, message: str, problem: str = "", line: int = 1, col: int = 1):
        super().__init__(message)
        #: The problem alone and where it is, for a ``path:line:col: problem`` diagnostic.
        self.problem = problem or message
        self.line = line
        self.col = col


# -- the facts, typed --------------------------------------------------------------------------
@dataclass
class PublishedField:
    """One typed field bullet: ``* `name` - _type_ - (REQUIRED) …``."""

    name: str
    type_text: str
    required: bool | None  # None: the text marks neither REQUIRED nor OPTIONAL
    nullable: bool
    signature: str | None  # None when the type text is not understood
    line: int
    depth: int  # 0 for a top-level bullet, >0 for fields nested under an enum value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_text,
            "signature": self.signature,
            "required": self.required,
            "nullable": self.nullable,
            "line": self.line,
            "depth": self.depth,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublishedField:
        return cls(
            data["name"],
            data["type"],
            data["required"],
            data["nullable"],
            data["signature"],
            data["line"],
            data["depth"],
        )


@dataclass
class SectionFacts:
    """What one section (without its subsections) lists."""

    anchor: str
    #: Typed top-level field bullets (an object's or request's fields).
    fields: list[PublishedField] = field(default_factory=list)
    #: Typed bullets nested under an enumerated value (fields that value adds).
    value_fields: list[PublishedField] = field(default_factory=list)
    #: Top-level bullet names that are not typed fields: enumerated values, named fields.
    values: list[str] = field(default_factory=list)
    #: Listing filters after "the following URL parameters": name → search fields (for `q`).
    filters: dict[str, list[str]] = field(default_factory=dict)
    #: "MUST be ordered … by `x`", "further ordered … by `y`": (field, direction) in order.
    ordering: list[tuple[str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.fields or self.value_fields or self.values or self.filters or self.ordering
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        if self.value_fields:
            out["value_fields"] = [f.to_json() for f in self.value_fields]
        if self.values:
            out["values"] = self.values
        if self.filters:
            out["filters"] = self.filters
        if self.ordering:
            out["ordering"] = [{"by": by, "direction": d} for by, d in self.ordering]
        return out

    @classmethod
    def from_json(cls, anchor: str, data: dict[str, Any]) -> SectionFacts:
        return cls(
            anchor,
            [PublishedField.from_json(f) for f in data.get("fields", [])],
            [PublishedField.from_json(f) for f in data.get("value_fields", [])],
            list(data.get("values", [])),
            {k: list(v) for k, v in data.get("filters", {}).items()},
            [(o["by"], o["direction"]) for o in data.get("ordering", [])],
        )


@dataclass
class PublishedExample:
    """A code block of the published text, verbatim (without its fences)."""

    section: str
    line: int
    info: str
    text: str


@dataclass
class PublishedScope:
    """A section defining a scope: its `type` (and fixed `id`, where the text gives one)."""

    anchor: str
    type: str
    id: str | None


@dataclass
class PublishedDetailsField:
    """A section defining an authorization details field: its `id` and allowed formats."""

    anchor: str
    id: str
    formats: list[str]


@dataclass
class PublishedFacts:
    """Everything the snapshot of one published document holds."""

    document: str
    title: str
    draft: bool
    outline: PublishedOutline
    sections: dict[str, SectionFacts]
    wire_versions: dict[str, str]
    scopes: list[PublishedScope]
    authorization_details_fields: list[PublishedDetailsField]
    #: Links of the text to anchors it does not define: target → first line.
    unresolved_links: dict[str, int]
    examples: list[PublishedExample]

    def section(self, anchor: str) -> SectionFacts:
        """The facts of a section (empty when it lists none)."""
        return self.sections.get(anchor) or SectionFacts(anchor)

    def headings(self) -> dict[str, PublishedSection]:
        return {s.anchor: s for s in self.outline.flat_sections()}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "document": self.document,
            "title": self.title,
            "draft": self.draft,
            "wire_versions": self.wire_versions,
            "outline": [_section_json(s) for s in self.outline.sections],
            "anchors": {
                a: {"label": label, "section": self.outline.anchor_sections.get(a)}
                for a, label in self.outline.anchors.items()
            },
            "sections": {a: s.to_json() for a, s in self.sections.items() if not s.is_empty()},
            "scopes": [{"anchor": s.anchor, "type": s.type, "id": s.id} for s in self.scopes],
            "authorization_details_fields": [
                {"anchor": d.anchor, "id": d.id, "formats": d.formats}
                for d in self.authorization_details_fields
            ],
            "unresolved_links": self.unresolved_links,
            "examples": [
                {"section": e.section, "line": e.line, "info": e.info, "text": e.text}
                for e in self.examples
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublishedFacts:
        anchors = data["anchors"]
        outline = PublishedOutline(
            [_section_from_json(s) for s in data["outline"]],
            {a: v["label"] for a, v in anchors.items()},
            {a: v["section"] for a, v in anchors.items() if v["section"]},
        )
        return cls(
            data["document"],
            data["title"],
            data["draft"],
            outline,
            {a: SectionFacts.from_json(a, s) for a, s in data["sections"].items()},
            dict(data["wire_versions"]),
            [PublishedScope(s["anchor"], s["type"], s["id"]) for s in data["scopes"]],
            [
                PublishedDetailsField(d["anchor"], d["id"], list(d["formats"]))
                for d in data["authorization_details_fields"]
            ],
            dict(data["unresolved_links"]),
            [
                PublishedExample(e["section"], e["line"], e["info"], e["text"])
                for e in data["examples"]
            ],
        )


def _section_json(s: PublishedSection) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": s.number,
        "title": s.title,
        "anchor": s.anchor,
        "level": s.level,
        "line": s.line,
    }
    if s.children:
        out["sections"] = [_section_json(c) for c in s.children]
    return out


def _section_from_json(data: dict[str, Any]) -> PublishedSection:
    return PublishedSection(
        data["number"],
        data["title"],
        data["anchor"],
        data["level"],
        data["line"],
        [_section_from_json(c) for c in data.get("sections", [])],
    )


# -- reading a snapshot --------------------------------------------------------------------------
def snapshot_path(document_folder: Path) -> Path:
    return document_folder / SNAPSHOT_NAME


def load_snapshot(path: Path) -> PublishedFacts:
    """Read a committed snapshot; a broken one is a :class:`FactsError` naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FactsError(f"{path}: cannot read the published facts: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        problem = f"not JSON: {exc.msg}"
        raise FactsError(
            f"{path}:{exc.lineno}:{exc.colno}: {problem}", problem, exc.lineno, exc.colno
        ) from exc
    except UnicodeDecodeError as exc:
        raise FactsError(f"{path}: not UTF-8 text: {exc}", "not UTF-8 text") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        problem = (
            f"not a published-facts snapshot of format {FORMAT}; re-extract it with `cdsgen facts`"
        )
        raise FactsError(f"{path}:1:1: {problem}", problem)
    try:
        return PublishedFacts.from_json(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        problem = f"malformed published-facts snapshot ({exc!r}); re-extract it with `cdsgen facts`"
        raise FactsError(f"{path}:1:1: {problem}", problem) from exc


def dumps(facts: PublishedFacts) -> str:
    """The snapshot text: stable key order and layout, so a re-extraction diffs cleanly."""
    return json.dumps(facts.to_json(), indent=1, ensure_ascii=False) + "\n"


# -- extracting from the published markdown ---------------------------------------------
def extract(path: Path, document: str | None = None) -> PublishedFacts:
    """Extract the facts of a published markdown text (``document`` defaults to the file stem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FactsError(f"{path}: cannot read the published text: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise FactsError(f"{path}: not UTF-8 text: {exc}") from exc
    lines = text.splitlines()
    outline = read_outline(path)
    if not outline.sections:
        raise FactsError(
            f"{path}:1:1: no section headings with <a id=…> permalinks; "
            "is this a published CDS text?"
        )
    raw = _raw_sections(lines)
    sections = {anchor: _section_facts(anchor, body) for anchor, body in raw.items()}
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), "")
    return PublishedFacts(
        document=document or path.stem,
        title=title,
        draft=any("This specification is a DRAFT" in line for _, line in raw.get("status", [])),
        outline=outline,
        sections=sections,
        wire_versions=dict(_WIRE_VERSION.findall(text)),
        scopes=_scopes(raw),
        authorization_details_fields=_details_fields(raw),
        unresolved_links=_unresolved_links(lines, set(outline.all_anchors())),
        examples=_examples(lines),
    )


def _raw_sections(lines: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Every section's own lines outside code blocks (not its subsections), by anchor."""
    out: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    in_code = False
    for lineno, line in enumerate(lines, start=1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = _HEADING.match(line)
        if m:
            current = out.setdefault(m.group(2), [])
            continue
        if current is not None:
            current.append((lineno, line))
    return out


def _section_facts(anchor: str, body: list[tuple[int, str]]) -> SectionFacts:
    return SectionFacts(
        anchor,
        fields=_fields(body, nested=False),
        value_fields=_fields(body, nested=True),
        values=_values(body),
        filters=_filters(body),
        ordering=[
            (name, "descending" if kind == "reverse chronological" else "ascending")
            for _, line in body
            for kind, name in _ORDER.findall(line)
        ],
    )


def _fields(body: list[tuple[int, str]], nested: bool) -> list[PublishedField]:
    """Typed field bullets. Request sections mark requiredness per group ("MUST include the
    following:" / "MAY include the following:") instead of per field; fields the Server
    populates itself ("populate the following fields") are not part of the request."""
    out = []
    group_required: bool | None = None
    for lineno, line in body:
        if not line.startswith((" ", "*")) and line.strip():
            if "MUST include the following" in line:
                group_required = True
            elif "MAY include the following" in line:
                group_required = False
            elif "populate the following" in line:
                break
        m = _BULLET.match(line)
        if not m or (len(m.group(1)) > 0) != nested:
            continue
        parsed = _field(m.group(2), m.group(3) or "", lineno, len(m.group(1)))
        if parsed is not None:
            if parsed.required is None and group_required is not None:
                parsed.required = group_required
            out.append(parsed)
    return out


def _values(body: list[tuple[int, str]]) -> list[str]:
    """Top-level bullet names that are not typed fields: enumerated values or named fields."""
    out = []
    for lineno, line in body:
        m = _BULLET.match(line)
        if m and not m.group(1) and _field(m.group(2), m.group(3) or "", lineno, 0) is None:
            out.append(m.group(2).strip('"'))
    return out


def _filters(body: list[tuple[int, str]]) -> dict[str, list[str]]:
    """Filter bullets after the "URL parameters" sentence: name → search fields (for `q`)."""
    out: dict[str, list[str]] = {}
    active = False
    current = None
    for _, line in body:
        if "following URL parameter" in line:
            active = True
            continue
        if not active:
            continue
        m = _BULLET.match(line)
        if m and not m.group(1):
            current = m.group(2)
            out[current] = []
        elif m and current is not None:
            out[current].append(m.group(2))
        elif line.strip() and not line.startswith(" ") and not line.startswith("*") and out:
            active = False
    return out


def _split_type(rest: str) -> tuple[str, str] | None:
    """Split ``_type_ - (REQUIRED) text`` into the type text and the remainder."""
    bare = re.match(
        r"^(string|integer|decimal|boolean|datetime) - (\(REQUIRED\)|\(OPTIONAL\))(.*)$", rest
    )
    if bare:  # a type printed without its usual link and emphasis
        return f"_[{bare.group(1)}](#{bare.group(1)})_", bare.group(2) + bare.group(3)
    m = re.match(r"^((?:`null` or )?_[^_].*?_(?: or `null`)?) - (.*)$", rest)
    if not m:
        m = re.match(r"^((?:`null` or )?_[^_].*?_(?: or `null`)?)\s*$", rest)
        if not m:
            return None
        return m.group(1), ""
    return m.group(1), m.group(2)


def _field(name: str, rest: str, lineno: int, indent: int) -> PublishedField | None:
    split = _split_type(rest)
    if split is None:
        return None
    type_text, remainder = split
    marker = _MARKER.match(remainder.strip())
    required = None if marker is None else marker.group(1) == "REQUIRED"
    nullable = "`null`" in type_text
    core = type_text.replace("`null` or ", "").replace(" or `null`", "").strip("_").strip()
    return PublishedField(name, type_text, required, nullable, signature(core), lineno, indent)


def signature(core: str) -> str | None:
    """Signature of a published type text such as ``Array[[MeterType](#meter-types)]``."""
    core = core.strip().strip("_").strip()
    m = re.fullmatch(r"(Array|Map)\[(.*)\]", core)
    if m:
        inner = signature(m.group(2))
        if inner is None:
            return None
        return ("array<" if m.group(1) == "Array" else "map<") + inner + ">"
    m = re.fullmatch(r"\[([^\]]+)\]\(#[^)]*\)", core)
    if m:
        text = m.group(1)
        return PRIMITIVES.get(text, text)
    if core == "various":
        return "any"
    return None


def _scopes(raw: dict[str, list[tuple[int, str]]]) -> list[PublishedScope]:
    """Sections that fix a Scope Description's `type` ("`type` is …" / "The `type` value
    MUST be …") define a scope."""
    out = []
    for anchor, body in raw.items():
        types = [m.group(1) for _, line in body if (m := _SCOPE_TYPE.match(line))]
        ids = [m.group(1) for _, line in body if (m := _SCOPE_ID.match(line))]
        if types:
            out.append(PublishedScope(anchor, types[0], ids[0] if ids else None))
    return out


def _details_fields(raw: dict[str, list[tuple[int, str]]]) -> list[PublishedDetailsField]:
    """Sections that fix an Authorization Details Field Object's `id` define such a field."""
    out = []
    for anchor, body in raw.items():
        ids = [m.group(1) for _, line in body if (m := _DETAILS_ID.match(line))]
        if not ids:
            continue
        formats = [
            value
            for _, line in body
            if (m := _DETAILS_FORMAT.match(line))
            for value in re.findall(r'`"([^"]+)"`', m.group(1))
        ]
        out.append(PublishedDetailsField(anchor, ids[0], formats))
    return out


def _unresolved_links(lines: list[str], anchors: set[str]) -> dict[str, int]:
    """Links to anchors the text does not define, and anchor links written without '#'."""
    out: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        linked = re.findall(r"\]\(#([^)]+)\)", line) + re.findall(r'href="#([^"]+)"', line)
        for target in linked:
            if target not in anchors:
                out.setdefault(target, lineno)
        for target in re.findall(r"\]\(([a-z][a-z0-9-]+)\)", line):
            out.setdefault(target, lineno)
    return out


def _examples(lines: list[str]) -> list[PublishedExample]:
    """Every plain, JSON or HTTP code block, verbatim, with the section it stands in."""
    out: list[PublishedExample] = []
    section = ""
    start: int | None = None
    info = ""
    body: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if start is None:
            m = _HEADING.match(line)
            if m:
                section = m.group(2)
            elif line.startswith("```"):
                start, info, body = lineno, line[3:].strip(), []
            continue
        if line.startswith("```"):
            if info in _EXAMPLE_INFO:
                out.append(PublishedExample(section, start, info, "\n".join(body)))
            start = None
            continue
        body.append(line)
    return out


# -- freshness ------------------------------------------------------------------------------
def stale_diff(committed: str, fresh: str, name: str, limit: int = 40) -> str:
    """A short unified diff from the committed snapshot to a fresh extraction ('' if equal)."""
    if committed == fresh:
        return ""
    lines = list(
        difflib.unified_diff(
            committed.splitlines(),
            fresh.splitlines(),
            f"{name} (committed)",
            f"{name} (extracted now)",
            n=1,
            lineterm="",
        )
    )
    more = len(lines) - limit
    return "\n".join(lines[:limit] + ([f"… {more} more diff line(s)"] if more > 0 else []))
