"""The spec pages of the documentation site (mkdocs-material), rendered from the model.

One page per document, in published order and numbering, where every permalink anchor of
the published text exists as an HTML id and every section links to the same anchor of the
published text; each object, enumeration, union, endpoint, scope, authorization-details
field and example is shown in the section that defines it. Beside them: an overview with
the downloads, the errata, the Customer Data relationship diagram and the API reference.

Text goes through Jinja2 templates (``templates/site``) whose every ``{{ … }}`` output is
escaped for markdown *and* HTML unless a helper here built it (and marked it ``Markup``),
so a description can hold quotes, backslashes, ``{{ }}``, ``\"\"\"`` or HTML and still show as
text. The pages are markdown for ``mkdocs build``; the downloads and vendored scripts are
added to the site by ``tools/cdsgen/mkdocs_hooks.py`` from ``generated/`` and
``node_modules/``.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from cdsgen import model as m
from cdsgen.cache import cache_templates
from cdsgen.corrections import PARTS, correction_steps, differences
from cdsgen.emit import TEMPLATES_DIR
from cdsgen.emit.textsafe import json_text, visible
from cdsgen.rules import Choices, Constraint, ScopeCondition
from cdsgen.types import AnyOf, ArrayOf, MapOf, Named, TypeExpr, names_in

SITE_DIR = "site/spec"
TEMPLATES = TEMPLATES_DIR / "site"

#: The document whose objects the relationship diagram shows.
CUSTOMER_DATA = "cds-wg3-01"

#: Where the mkdocs hook serves ``generated/openapi`` and ``generated/jsonschema`` (site root).
DOWNLOADS = "downloads"

#: Characters that mean something to markdown, its extensions or HTML anywhere in running
#: text; ``_`` only where it could open or close emphasis (not inside ``snake_case``), so
#: names stay greppable.
_SPECIAL = re.compile(r"[\\`*{}\[\]<>&|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: What means something only at the start of a block: lists, headings, quotes, definitions,
#: setext underlines and tables' neighbours.
_BLOCK_START = re.compile(r"^(\s*)([-+#:=>!~])")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def md_text(text: Any, *, block_start: bool = True) -> Markup:
    """Plain text as inline markdown that renders as exactly that text (whitespace folded)."""
    if type(text) is str:  # names, types and summaries recur: each is escaped once
        return _md_text(text, block_start)
    return _md_text(str(text), block_start)


@functools.lru_cache(maxsize=65536)
def _md_text(text: str, block_start: bool) -> Markup:
    folded = visible(re.sub(r"\s+", " ", text))
    out = _SPECIAL.sub(lambda mt: f"&#{ord(mt.group())};", folded)
    if block_start:  # "1. …" or "- …" at the start of a block would become a list item
        out = re.sub(r"^(\s*\d+)([.)])", lambda mt: f"{mt.group(1)}&#{ord(mt.group(2))};", out)
        out = _BLOCK_START.sub(lambda mt: f"{mt.group(1)}&#{ord(mt.group(2))};", out)
    return Markup(out)


def md_code(text: Any) -> Markup:
    return Markup(f"<code>{md_text(text, block_start=False)}</code>")


def md_inline(text: Any) -> Markup:
    """Our summaries: plain text where `backticks` mark code."""
    return _md_inline(str(text))


@functools.lru_cache(maxsize=65536)
def _md_inline(text: str) -> Markup:
    parts: list[str] = []
    pos = 0
    source = " ".join(str(text).split())  # fold whitespace; code spans keep their spaces
    for mt in _CODE_SPAN.finditer(source):
        parts.append(md_text(source[pos : mt.start()], block_start=pos == 0))
        parts.append(md_code(mt.group(1)))
        pos = mt.end()
    parts.append(md_text(source[pos:], block_start=pos == 0))
    return Markup("".join(parts))


def md_link(label: Markup | str, url: str) -> Markup:
    """A markdown link (mkdocs rewrites and checks links to pages); ``label`` is escaped
    unless it is already ``Markup``."""
    if not isinstance(label, Markup):
        label = md_text(label)
    if re.search(r"[\s<>()]", url):
        raise ValueError(f"unexpected character in link target {url!r}")
    return Markup(f"[{label}]({url})")


def md_fence(content: str, lang: str = "", title: str = "") -> Markup:
    """A fenced code block that no line of ``content`` can close early."""
    longest = max((len(r) for r in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    if not re.fullmatch(r"[\w ]*", title):
        raise ValueError(f"unexpected character in code block title {title!r}")
    options = f' title="{title}"' if title else ""
    return Markup(f"{fence}{lang}{options}\n{content.rstrip()}\n{fence}")


def html_id(anchor: str) -> Markup:
    """An anchor as an HTML id (checked, so it needs no escaping)."""
    if not _ID.match(anchor):
        raise ValueError(f"anchor {anchor!r} cannot be an HTML id")
    return Markup(anchor)


def yaml_str(text: Any) -> Markup:
    """A YAML scalar for front matter (JSON strings are YAML), HTML-escaped: the theme puts
    front matter (``title``, ``description``) into the page's HTML as it is."""
    text = html.escape(visible(" ".join(str(text).split())), quote=False).replace('"', "&quot;")
    return Markup(json_text(text))


def http_part(msg: m.HttpMessage) -> str:
    """One side of a published HTTP exchange, as published: start line, headers, body."""
    lines = [msg.start_line, *(f"{k}: {v}" for k, v in msg.headers)]
    if msg.body_text.strip():
        lines += ["", msg.body_text.rstrip()]
    return "\n".join(lines)


def _short_json(value: Any, limit: int = 60) -> str:
    """A value as compact JSON for a table cell, cut with … past ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tidy(text: str) -> str:
    """Fold runs of blank lines the templates leave, except inside fenced code blocks."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            fence = None if line == fence else fence
        elif not line.strip() and (not out or not out[-1].strip()):
            continue
        elif opening := re.match(r"^`{3,}", line):
            fence = opening.group()
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _finalize(value: Any) -> Any:
    """Autoescape for markdown: every ``{{ value }}`` is text unless a helper made it."""
    if isinstance(value, Markup):
        return value
    return md_text(value)


def markdown_environment(templates: Path) -> jinja2.Environment:
    """The Jinja2 environment of every template that renders site markdown: each
    ``{{ value }}`` is escaped as text unless a filter made it markdown (``Markup``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        extensions=["jinja2.ext.do"],
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
    )
    env.filters.update(text=md_text, code=md_code, inline=md_inline)
    return cache_templates(env)


def environment() -> jinja2.Environment:
    env = markdown_environment(TEMPLATES)
    env.filters.update(
        fence=md_fence,
        id=html_id,
        item_id=item_id,
        yaml=yaml_str,
    )
    env.globals.update(link=md_link, named=Named, http_part=http_part)
    return env


# -- what goes where ------------------------------------------------------------------------


def item_id(kind: str, name: str) -> Markup:
    """HTML id of an item on its document page; the prefix keeps it apart from published
    anchors (lowercase words and hyphens)."""
    return html_id(f"cdsgen-{kind}-{name}")


@dataclass
class Placed:
    """Items shown in one section of a document page."""

    extensions: list[m.Extension] = field(default_factory=list)
    objects: list[m.ObjectType] = field(default_factory=list)
    unions: list[m.UnionType] = field(default_factory=list)
    enums: list[m.EnumType] = field(default_factory=list)
    endpoints: list[m.Endpoint] = field(default_factory=list)
    scopes: list[m.Scope] = field(default_factory=list)
    fields: list[m.AuthorizationDetailsFieldRule] = field(default_factory=list)
    examples: list[m.Example] = field(default_factory=list)
    #: Non-heading anchors (terms, references, figures) shown in this section.
    anchors: list[tuple[str, str]] = field(default_factory=list)


class SitePages:
    """Renders every generated page; one instance per generation run."""

    def __init__(self, spec: m.Spec, downloads: Iterable[str], verdicts: dict[str, list[str]]):
        self.spec = spec
        self.downloads = sorted(downloads)
        self.verdicts = verdicts
        self.env = environment()
        self.env.globals.update(
            site=self,
            spec=spec,
            example_problems=lambda ex: verdicts.get(ex.id),
            type_md=self.type_md,
            item_href=self.item_href,
            anchor_href=self.anchor_href,
            section_ref=self.section_ref,
            published_link=self.published_link,
            field_href=self.field_href,
            item_href_op=self.item_href_op,
            heading=self.heading,
            primitive_summary=self.primitive_summary,
            constraint_md=self.constraint_md,
            when_md=self.when_md,
            ad_field_md=self.ad_field_md,
            downloads_dir=DOWNLOADS,
            has_relationships=CUSTOMER_DATA in spec.documents,
            json_md=lambda v: md_code(json.dumps(v, ensure_ascii=False)),
            example_corrections=self.example_corrections,
        )
        self._placement = {d: self._anchor_placement(doc) for d, doc in spec.documents.items()}

    # -- pages -------------------------------------------------------------------------------
    def pages(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for doc in self.spec.documents.values():
            out[f"{SITE_DIR}/{doc.id}.md"] = self.render(
                "document.md.j2", doc=doc, placed=self.placed(doc)
            )
        out[f"{SITE_DIR}/index.md"] = self.render(
            "overview.md.j2", downloads=self.download_groups()
        )
        out[f"{SITE_DIR}/errata.md"] = self.render("errata.md.j2", groups=self.errata_groups())
        if CUSTOMER_DATA in self.spec.documents:
            out[f"{SITE_DIR}/relationships.md"] = self.render(
                "relationships.md.j2",
                doc=self.spec.documents[CUSTOMER_DATA],
                nodes=self.relationship_nodes(),
                edges=self.relationships(),
            )
        out[f"{SITE_DIR}/api.md"] = self.render(
            "api.md.j2", openapi=f"{DOWNLOADS}/openapi/cds.openapi.json"
        )
        return out

    def render(self, template: str, **context: Any) -> str:
        return tidy(self.env.get_template(template).render(here=None, **context))

    # -- placement ---------------------------------------------------------------------------
    def _anchor_placement(self, doc: m.Document) -> dict[str, str]:
        """Section each anchor is shown in: a heading is its own, other anchors the section
        they stand in in the published text (else references go to References, the rest to
        Terminology)."""
        sections = doc.section_by_anchor()
        place = {a: a for a in sections}
        last = doc.all_sections()[-1].anchor
        for a in doc.anchors:
            if a in place:
                continue
            if doc.anchor_sections.get(a) in sections:
                place[a] = doc.anchor_sections[a]
            elif a.startswith("ref-") and "references" in sections:
                place[a] = "references"
            elif "terminology" in sections:
                place[a] = "terminology"
            else:
                place[a] = last
        return place

    def placed(self, doc: m.Document) -> dict[str, Placed]:
        spec, place = self.spec, self._placement[doc.id]
        out = {s.anchor: Placed() for s in doc.all_sections()}

        def put(anchor: str) -> Placed:
            return out[place[anchor]]

        for a, label in doc.anchors.items():
            if a not in doc.section_by_anchor():
                put(a).anchors.append((a, label))
        for ext in spec.extensions:
            if ext.document == doc.id:
                put(ext.anchor).extensions.append(ext)
        for table, attr in (
            (spec.objects, "objects"),
            (spec.unions, "unions"),
            (spec.enums, "enums"),
            (spec.endpoints, "endpoints"),
            (spec.scopes, "scopes"),
            (spec.authorization_details_fields, "fields"),
            (spec.examples, "examples"),
        ):
            for item in table.values():
                if item.document == doc.id:
                    getattr(put(item.anchor), attr).append(item)
        return out

    # -- links -------------------------------------------------------------------------------
    def anchor_href(self, document: str, anchor: str, here: str | None) -> str:
        """Link from the page of document ``here`` (None: another spec page) to an anchor."""
        return f"#{anchor}" if document == here else f"{document}.md#{anchor}"

    def item_href(self, name: str, here: str | None) -> str | None:
        item = (
            self.spec.objects.get(name) or self.spec.enums.get(name) or self.spec.unions.get(name)
        )
        if item is None:
            return None
        kind = (
            "object"
            if name in self.spec.objects
            else "enum"
            if name in self.spec.enums
            else "union"
        )
        return self.anchor_href(item.document, item_id(kind, name), here)

    def item_href_op(self, operation_id: str, here: str | None) -> str:
        ep = self.spec.endpoints[operation_id]
        return self.anchor_href(ep.document, item_id("op", operation_id), here)

    def heading(self, section: m.Section, level: int) -> Markup:
        """A section heading with its published number and anchor as the HTML id."""
        number = f"{section.number}. " if section.number else ""
        return Markup(
            f"{'#' * level} {md_text(number + section.title)} {{#{html_id(section.anchor)}}}"
        )

    def primitive_summary(self, anchor: str) -> str:
        prim = next((p for p in self.spec.primitives.values() if p.anchor == anchor), None)
        return prim.summary if prim else ""

    def field_href(self, dotted: str, here: str | None) -> Markup:
        """``Object.field`` (an endpoint's advertising metadata field) as a link."""
        obj_name, _, fname = dotted.partition(".")
        href = self.item_href(obj_name, here)
        label = md_code(dotted)
        return md_link(label, href) if href else label

    def section_ref(self, document: str, anchor: str, here: str | None) -> Markup:
        """``CDS-WG1-02 §3.5`` linking to that section on our page."""
        doc = self.spec.documents[document]
        section = doc.section_by_anchor().get(anchor)
        where = (
            f"§{section.number}"
            if section and section.number
            else (section.title if section else doc.anchors.get(anchor, anchor))
        )
        label = where if document == here else f"{doc.code} {where}"
        return md_link(label, self.anchor_href(document, anchor, here))

    def published_link(self, document: str, anchor: str, label: str = "published text") -> Markup:
        return md_link(label, self.spec.documents[document].link(anchor))

    def type_md(self, t: TypeExpr, here: str | None) -> Markup:
        if isinstance(t, ArrayOf):
            return Markup(f"Array&#91;{self.type_md(t.item, here)}&#93;")
        if isinstance(t, MapOf):
            return Markup(f"Map&#91;{self.type_md(t.value, here)}&#93;")
        if isinstance(t, AnyOf):
            return Markup(" or ".join(self.type_md(o, here) for o in t.options))
        assert isinstance(t, Named)
        href = self.item_href(t.name, here)
        if href:
            return md_link(md_code(t.name), href)
        prim = self.spec.primitives.get(t.name)
        if prim is not None and prim.anchor:
            for doc_id in [here] + list(self.spec.documents) if here else list(self.spec.documents):
                doc = self.spec.documents[doc_id]
                if prim.anchor in doc.anchors:
                    return md_link(
                        md_text(doc.anchors[prim.anchor]),
                        self.anchor_href(doc_id, prim.anchor, here),
                    )
        return md_text(t.name)

    # -- rules as text -----------------------------------------------------------------------
    def constraint_md(self, constraint: Constraint, here: str | None) -> Markup:
        """``includes: [a, b], excludes: [c]`` → "includes `a`, `b`; excludes `c`"."""
        parts: list[Markup] = []
        for test in constraint.tests:
            phrase, values = test.wording()
            if isinstance(test, Choices):
                parts.append(Markup("choices: ") + self.constraint_md(test.inner, here))
            elif values is None:
                parts.append(md_text(phrase))
            else:
                shown = (
                    Markup(", ").join(self.ad_field_md(v, here) for v in values)
                    if values
                    else md_text("[] (nothing)")
                )
                parts.append(md_text(phrase) + Markup(" ") + shown)
        return Markup("; ").join(parts)

    def ad_field_md(self, value: Any, here: str | None) -> Markup:
        """A value in a rule; authorization-details field ids link to their definition."""
        if isinstance(value, str) and value in self.spec.authorization_details_fields:
            f = self.spec.authorization_details_fields[value]
            return md_link(
                md_code(value), self.anchor_href(f.document, item_id("adf", value), here)
            )
        if isinstance(value, str) and value in self.spec.scopes:
            s = self.spec.scopes[value]
            return md_link(
                md_code(value), self.anchor_href(s.document, item_id("scope", value), here)
            )
        return md_code(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    def when_md(self, when: ScopeCondition, here: str | None) -> Markup:
        if when.choice is not None:
            field_id, choice_id = when.choice
            return (
                Markup("choices of ")
                + self.ad_field_md(field_id, here)
                + Markup(" include ")
                + md_code(choice_id)
            )
        if when.authorization is not None:
            return md_text(
                "the scope is authorized by customers"
                if when.authorization
                else "the scope is not authorized by customers"
            )
        return md_code(when.key())

    # -- errata, downloads, relationships ----------------------------------------------------
    def errata_groups(self) -> list[tuple[m.Document, list[m.Erratum]]]:
        return [
            (doc, [e for e in self.spec.errata if e.document == doc.id])
            for doc in self.spec.documents.values()
        ]

    def example_corrections(self, ex: m.Example) -> list[dict[str, Any]]:
        """For each body of ``ex`` its errata correct: the corrected body (as JSON text) and
        the changes from the published one, each with the erratum behind it."""
        out = []
        for part in PARTS:
            steps = correction_steps(self.spec, ex, part)
            if not steps:
                continue
            rows = [
                {
                    "kind": kind,
                    "where": where,
                    "before": _short_json(before) if kind != "added" else None,
                    "after": _short_json(after) if kind != "removed" else None,
                    "erratum": er.id,
                }
                for er, old, new in steps
                for kind, where, before, after in differences(old, new)
            ]
            body = json.dumps(steps[-1][2], indent=2, ensure_ascii=False)
            out.append({"part": part, "rows": rows, "body": body})
        return out

    def erratum_target(self, er: m.Erratum) -> Markup:
        """What an erratum concerns, linked to where our pages show it."""
        t, spec = er.target, self.spec
        if "example" in t and t["example"] in spec.examples:
            ex = spec.examples[t["example"]]
            return Markup("example ") + md_link(
                md_code(ex.id), self.anchor_href(ex.document, item_id("example", ex.id), None)
            )
        if "object" in t:
            label = md_code(f"{t['object']}.{t['field']}" if "field" in t else t["object"])
            href = self.item_href(t["object"], None)
            return md_link(label, href) if href else label
        if "enum" in t:
            label = md_code(f"{t['enum']}: {t['value']}" if "value" in t else t["enum"])
            href = self.item_href(t["enum"], None)
            return md_link(label, href) if href else label
        if "endpoint" in t and t["endpoint"] in spec.endpoints:
            ep = spec.endpoints[t["endpoint"]]
            return Markup("operation ") + md_link(
                md_code(ep.operation_id),
                self.anchor_href(ep.document, item_id("op", ep.operation_id), None),
            )
        if "scope" in t and t["scope"] in spec.scopes:
            return Markup("scope ") + self.ad_field_md(t["scope"], None)
        if "authorization_details_field" in t:
            return Markup("authorization details field ") + self.ad_field_md(
                t["authorization_details_field"], None
            )
        if "link" in t:
            return Markup("link to ") + md_code("#" + t["link"])
        return md_code(json.dumps(t, sort_keys=True))

    def download_groups(self) -> list[tuple[str, list[str]]]:
        groups: dict[str, list[str]] = {}
        for path in self.downloads:
            folder, _, name = path.rpartition("/")
            groups.setdefault(folder.rsplit("/", 1)[-1], []).append(name)
        return list(groups.items())

    def relationship_nodes(self) -> list[m.ObjectType]:
        """The Customer Data resources: data objects of :data:`CUSTOMER_DATA` with their own id."""
        return [
            o for o in self.spec.objects.values() if o.document == CUSTOMER_DATA and self.own_id(o)
        ]

    @staticmethod
    def own_id(obj: m.ObjectType) -> str | None:
        ids = [f for f in obj.fields if f.startswith("cds_") and f.endswith("_id")]
        own = f"cds_{obj.name.lower()}_id"
        if obj.kind != "data" or not ids:
            return None
        return own if own in ids else ids[0]

    def relationships(self) -> list[Relationship]:
        """Links between resources: fields whose ``refers_to`` names another resource (also
        inside nested parts such as value formats)."""
        nodes = self.relationship_nodes()
        by_name = {o.name: o for o in nodes}
        out: list[Relationship] = []
        seen: set[tuple[str, str, str]] = set()

        def target(f: m.Field) -> m.ObjectType | None:
            return by_name.get(f.refers_to) if f.refers_to else None

        def walk(
            source: m.ObjectType, obj: m.ObjectType, prefix: str, trail: tuple[str, ...]
        ) -> None:
            for f in obj.fields.values():
                tgt = target(f)
                if tgt is not None and not (tgt is source and f.name == self.own_id(source)):
                    key = (source.name, tgt.name, prefix + f.name)
                    if key not in seen:
                        seen.add(key)
                        many = isinstance(f.type, ArrayOf)
                        out.append(Relationship(source, tgt, prefix + f.name, many, f))
                    continue
                for name in names_in(f.type):
                    nested = [self.spec.objects[name]] if name in self.spec.objects else []
                    if name in self.spec.unions:
                        nested = [
                            self.spec.objects[n]
                            for t in self.spec.unions[name].members
                            for n in names_in(t)
                            if n in self.spec.objects
                        ]
                    for sub in nested:
                        if sub.name not in trail and self.own_id(sub) is None:
                            walk(
                                source,
                                sub,
                                prefix + f.name + ("[]." if isinstance(f.type, ArrayOf) else "."),
                                trail + (sub.name,),
                            )

        for node in nodes:
            walk(node, node, "", (node.name,))
        return out

    def mermaid_source(self, nodes: list[m.ObjectType], edges: list[Relationship]) -> str:
        """A mermaid flowchart: one box per resource, one arrow per pair of resources
        labelled with every field that links them (``[ ]`` marks a list of ids)."""

        def label(text: str) -> str:
            text = visible(" ".join(text.split()))
            return (
                '"' + text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;") + '"'
            )

        pairs: dict[tuple[str, str], list[str]] = {}
        for r in edges:
            pairs.setdefault((r.source.name, r.target.name), []).append(
                r.path + (" [ ]" if r.many else "")
            )
        lines = ["flowchart LR"]
        lines += [f"    {o.name}[{label(o.title)}]" for o in nodes]
        lines += [
            f"    {a} -- {label(', '.join(paths))} --> {b}" for (a, b), paths in pairs.items()
        ]
        return "\n".join(lines)


@dataclass
class Relationship:
    source: m.ObjectType
    target: m.ObjectType
    path: str
    many: bool
    field: m.Field


def emit_site(
    spec: m.Spec, downloads: Iterable[str], verdicts: dict[str, list[str]]
) -> dict[str, str]:
    """``{path: text}`` of the generated site pages. ``downloads`` are the generated files
    (``generated/openapi/…``, ``generated/jsonschema/…``) the site offers for download;
    ``verdicts`` what lint found in each example (an example it did not check is not called
    validated)."""
    return SitePages(spec, downloads, verdicts).pages()
