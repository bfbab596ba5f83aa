"""Facts read straight from the published markdown, for fact-by-fact comparison tests.

Deliberately independent of the cdsgen loader: it parses the published text itself
(sections, field bullets, enumerated values, filter bullets) so a transcription mistake in
``spec/`` cannot hide behind the same code that produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
if not REFERENCE.is_dir():  # CI clones main beside shared/
    REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"

_HEADING = re.compile(r"^(#{2,6})\s+.*?<a id=\"([^\"]+)\"")
_BULLET = re.compile(r"^(\s*)\* `([^`]+)`(?: - (.*))?\s*$")
_MARKER = re.compile(r"^\((REQUIRED|OPTIONAL)\)")

#: Link text of published primitive types → our type signature.
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


@dataclass
class PublishedField:
    name: str
    type_text: str
    required: bool | None  # None: the text marks neither REQUIRED nor OPTIONAL
    nullable: bool
    signature: str | None  # None when the type text is not understood
    line: int
    depth: int  # 0 for a top-level bullet, >0 for fields nested under an enum value


@dataclass
class PublishedSection:
    anchor: str
    lines: list[tuple[int, str]] = field(default_factory=list)

    def bullets(self, depth: int | None = 0):
        for lineno, line in self.lines:
            m = _BULLET.match(line)
            if m and (
                depth is None or len(m.group(1)) // 4 == depth or (depth == 0 and m.group(1) == "")
            ):
                yield lineno, len(m.group(1)), m.group(2), m.group(3) or ""

    def fields(self, nested: bool = False) -> list[PublishedField]:
        """Typed field bullets. Request sections mark requiredness per group ("MUST include
        the following:" / "MAY include the following:") instead of per field; fields the
        Server populates itself ("populate the following fields") are not listed."""
        out = []
        group_required: bool | None = None
        for lineno, line in self.lines:
            if not line.startswith((" ", "*")) and line.strip():
                if re.search(r"MUST include the following", line):
                    group_required = True
                elif re.search(r"MAY include the following", line):
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

    def values(self) -> list[str]:
        """Top-level bullet names that are not typed fields: enumerated values or filters."""
        out = []
        for lineno, indent, name, rest in self.bullets(depth=None):
            if indent == 0 and _field(name, rest, lineno, indent) is None:
                out.append(name.strip('"'))
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


#: Versions of the documents: the released texts and the editor's drafts (``dev/``).
RELEASED, DRAFT = "latest", "dev"


def reference_path(document: str, version: str = RELEASED) -> Path:
    """The published text of ``document`` in ``version``: the editor's draft
    (``dev/<id>-dev.md``) where the working group publishes one, else the released text
    (a document without a draft is the same in both versions)."""
    if version == DRAFT:
        draft = REFERENCE / DRAFT / f"{document}-dev.md"
        if draft.is_file():
            return draft
    return REFERENCE / f"{document}.md"


@cache
def sections(document: str, version: str = RELEASED) -> dict[str, PublishedSection]:
    """Every section of a published document, by anchor, with its own lines (not subsections)."""
    out: dict[str, PublishedSection] = {}
    current: PublishedSection | None = None
    in_code = False
    path = reference_path(document, version)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            in_code = not in_code
        if not in_code:
            m = _HEADING.match(line)
            if m:
                current = out.setdefault(m.group(2), PublishedSection(m.group(2)))
                continue
        if current is not None and not in_code:
            current.lines.append((lineno, line))
    return out


def filters(section: PublishedSection) -> dict[str, list[str]]:
    """Filter bullets after the "URL parameters" sentence: name → search fields (for `q`)."""
    out: dict[str, list[str]] = {}
    active = False
    current = None
    for _, line in section.lines:
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


# -- our side: signatures of generated schemas ---------------------------------------------------
def schema_signature(schema: dict, components: dict[str, dict]) -> tuple[str, bool]:
    """(signature, nullable) of a generated property schema."""
    nullable = False
    s = dict(schema)
    t = s.get("type")
    if isinstance(t, list) and "null" in t:
        nullable = True
        rest = [x for x in t if x != "null"]
        s["type"] = rest[0] if len(rest) == 1 else rest
    if "anyOf" in s:
        options = [o for o in s["anyOf"] if o != {"type": "null"}]
        if len(options) < len(s["anyOf"]):
            nullable = True
        refs = [o for o in options if "$ref" in o]
        if len(options) == 2 and len(refs) == 1 and {"type": "string"} in options:
            name = refs[0]["$ref"].rsplit("/", 1)[-1]
            if components.get(name, {}).get("x-cds-open"):
                return name, nullable
        if len(options) == 1:
            sig, n2 = schema_signature(options[0], components)
            return sig, nullable or n2
        return "|".join(sorted(schema_signature(o, components)[0] for o in options)), nullable
    if "$ref" in s:
        return s["$ref"].rsplit("/", 1)[-1], nullable
    t = s.get("type")
    if t == "array":
        inner, _ = schema_signature(s.get("items", {}), components)
        return f"array<{inner}>", nullable
    if t == "object":
        ap = s.get("additionalProperties")
        if isinstance(ap, dict):
            return f"map<{schema_signature(ap, components)[0]}>", nullable
        return "object", nullable
    if t == "string":
        return {"date-time": "datetime", "uri": "url", "date": "date"}.get(
            s.get("format"), "string"
        ), nullable
    if t in ("integer", "number", "boolean"):
        return t, nullable
    if "const" in s:
        return "string", nullable
    if not {"type", "$ref", "anyOf", "oneOf", "const", "enum"} & set(s):
        return "any", nullable
    return str(t), nullable
