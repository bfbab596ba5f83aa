"""Read the outline (numbered sections and permalink anchors) of a published CDS document.

The published documents are markdown whose headings end with ``<a id="anchor" ...>`` permalinks.
Maintainers use this once per published revision (``cdsgen outline FILE``) to seed or check the
``sections`` and ``anchors`` of a ``document.yaml``; the test suite uses it to prove that our
outline and our site keep every published anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADING = re.compile(r"^(#{2,6})\s+(?:(\d+(?:\.\d+)*)\.?\s+)?(.*?)\s*<a id=\"([^\"]+)\"")
_ANCHOR = re.compile(r"<a id=\"([^\"]+)\"")
_FENCE = re.compile(r"^```")


@dataclass
class PublishedSection:
    number: str
    title: str
    anchor: str
    level: int
    line: int
    children: list[PublishedSection] = field(default_factory=list)


@dataclass
class PublishedOutline:
    sections: list[PublishedSection]
    #: anchor -> short label for every anchor that is not a heading (terms, references).
    anchors: dict[str, str]
    #: anchor -> the heading anchor of the section it stands in.
    anchor_sections: dict[str, str] = field(default_factory=dict)

    def all_anchors(self) -> list[str]:
        """Every anchor of the document, headings first, in document order."""
        out: list[str] = []

        def walk(items: list[PublishedSection]) -> None:
            for s in items:
                out.append(s.anchor)
                walk(s.children)

        walk(self.sections)
        out.extend(a for a in self.anchors if a not in out)
        return out

    def flat_sections(self) -> list[PublishedSection]:
        out: list[PublishedSection] = []

        def walk(items: list[PublishedSection]) -> None:
            for s in items:
                out.append(s)
                walk(s.children)

        walk(self.sections)
        return out


def _label(text: str, anchor: str) -> str:
    """A short label for a non-heading anchor: the bold, code or quoted term right after it."""
    m = re.search(r"\*\*\"?([^*\"]+)\"?\*\*|`([^`]+)`|\"([^\"]+)\"", text)
    if m:
        return next(g for g in m.groups() if g)
    return anchor


def read_outline(path: Path) -> PublishedOutline:
    """Parse the headings and anchors of a published markdown document."""
    roots: list[PublishedSection] = []
    stack: list[PublishedSection] = []
    anchors: dict[str, str] = {}
    anchor_sections: dict[str, str] = {}
    in_code = False
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = _HEADING.match(line)
        if m:
            hashes, number, title, anchor = m.groups()
            level = len(hashes)
            sec = PublishedSection(number or "", title.strip(), anchor, level, lineno)
            while stack and stack[-1].level >= level:
                stack.pop()
            (stack[-1].children if stack else roots).append(sec)
            stack.append(sec)
            continue
        for a in _ANCHOR.findall(line):
            rest = line.split("</a>", 1)[-1].strip()
            if not rest and lineno < len(lines):
                rest = lines[lineno]  # references put the term on the next line
            anchors.setdefault(a, _label(rest, a))
            if stack:
                anchor_sections.setdefault(a, stack[-1].anchor)
    return PublishedOutline(roots, anchors, anchor_sections)


def outline_yaml(outline: PublishedOutline) -> str:
    """Render an outline as the ``sections``/``anchors`` part of a document.yaml."""
    lines = ["  sections:"]

    def emit(items: list[PublishedSection], indent: int) -> None:
        pad = " " * indent
        for s in items:
            lines.append(f'{pad}- number: "{s.number}"')
            lines.append(f"{pad}  title: {_quote(s.title)}")
            lines.append(f"{pad}  anchor: {_key(s.anchor)}")
            if s.children:
                lines.append(f"{pad}  sections:")
                emit(s.children, indent + 4)

    emit(outline.sections, 4)
    lines.append("  anchors:")
    for a, label in outline.anchors.items():
        section = outline.anchor_sections.get(a)
        value = (
            f"{{label: {_quote(label)}, section: {_key(section)}}}" if section else _quote(label)
        )
        lines.append(f"    {_key(a)}: {value}")
    return "\n".join(lines) + "\n"


def _key(anchor: str) -> str:
    """Quote anchors YAML would read as something other than a string (null, true, 1.2…)."""
    plain = anchor.lower() in {"null", "true", "false", "yes", "no", "on", "off", "~"}
    return _quote(anchor) if plain or anchor[:1].isdigit() else anchor


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
