"""The site page of what the editor's drafts change against the releases (``changes.md``).

One section per document with a draft: the ``cdsgen diff`` report of its release against its
draft (breaking changes first, each with who it breaks and a link to the section), then the
errata the draft resolves, linked to where the released site records them. The page lives
in the draft's folder (``site/spec/dev/``): links to the draft's pages are local, links to
the release go one folder up.
"""

from __future__ import annotations

from markupsafe import Markup

from cdsgen import model as m
from cdsgen.diff import BREAKING, COMPATIBLE, INFO, Change, DiffReport
from cdsgen.emit.site import html_id, md_code, md_inline, md_link, md_text, tidy

_HEADINGS = {
    BREAKING: "Breaking changes",
    COMPATIBLE: "Compatible changes",
    INFO: "Informational changes",
}


def render_changes(draft: m.Spec, reports: dict[str, DiffReport]) -> str:
    lines = [
        "---",
        "title: Changes in the editor's drafts",
        "description: \"What each CDS editor's draft changes against its released text, "
        'classified for Clients and for Servers."',
        "---",
        "",
        "# Changes in the editor's drafts",
        "",
        "Each section compares a document's released text with its editor's draft, as "
        "`cdsgen diff --release-vs-draft <id>` reports it: every added, removed, renamed and "
        "re-typed field, enumerated value, filter, section and example, classified as "
        "breaking or not for Clients and for Servers, with the errata the draft resolves.",
    ]
    if not reports:
        lines += ["", "No document has an editor's draft now: the draft version is the release."]
    for doc_id, report in reports.items():
        lines += _document(draft, doc_id, report)
    return tidy("\n".join(lines))


def _document(draft: m.Spec, doc_id: str, report: DiffReport) -> list[str]:
    doc = draft.documents[doc_id]
    side = next(d for d in report.documents if d.id == doc_id)
    own = [c for c in report.changes if c.document == doc_id and c.kind != "erratum-resolved"]
    resolved = [c for c in report.changes if c.kind == "erratum-resolved"]
    counts = report.counts()
    out = [
        "",
        f"## {md_text(doc.code)} {md_text(doc.title)} {{#{html_id(doc_id)}}}",
        "",
        f"Release {md_code(side.old_version)} → draft {md_code(side.new_version)}: "
        f"{len(own)} change(s), {counts['breaking_for_clients']} breaking for Clients, "
        f"{counts['breaking_for_servers']} breaking for Servers. "
        f"{md_link('Draft page', f'{doc_id}.md')} · "
        f"{md_link('released page', f'../{doc_id}.md')}",
    ]
    for severity in (BREAKING, COMPATIBLE, INFO):
        group = [c for c in own if c.severity == severity]
        if not group:
            continue
        out += [
            "",
            f"### {_HEADINGS[severity]} ({len(group)}) {{#{html_id(doc_id + '-' + severity)}}}",
            "",
            "| Change | Section | Clients | Servers |",
            "| --- | --- | --- | --- |",
        ]
        out += [_row(draft, c) for c in group]
    out += [
        "",
        f"### Errata resolved by the draft ({len(resolved)}) {{#{html_id(doc_id + '-resolved')}}}",
        "",
    ]
    if not resolved:
        out.append("None.")
    for c in resolved:
        erratum_id = c.subject.removeprefix("erratum ")
        problem = c.message.removeprefix("resolved: ")
        where = draft.documents.get(c.document)
        code = where.code if where else c.document
        out.append(
            f"* **Resolved** — {md_link(md_code(erratum_id), f'../errata.md#{erratum_id}')} "
            f"({md_text(code)}): {md_inline(problem)}"
        )
    return out


def _row(draft: m.Spec, c: Change) -> str:
    what = Markup(f"{md_code(c.subject)}: {md_inline(c.message)}")
    if c.why:
        what = Markup(f"{what}<br>{md_inline(c.why)}")
    return f"| {what} | {_section_link(draft, c)} | {_verdict(c.clients)} | {_verdict(c.servers)} |"


def _verdict(verdict: str) -> str:
    return f"**{verdict}**" if verdict == BREAKING else verdict


def _section_link(draft: m.Spec, c: Change) -> Markup:
    """The change's section on the draft page, or on the released page if the draft has
    no such anchor any more (something the draft removed)."""
    if not c.anchor:
        return Markup("")
    doc = draft.documents.get(c.document)
    if doc is None:
        return md_code(c.anchor)
    page = f"{doc.id}.md" if _has_anchor(doc, c.anchor) else f"../{doc.id}.md"
    return md_link(md_code(c.anchor), f"{page}#{c.anchor}")


def _has_anchor(doc: m.Document, anchor: str) -> bool:
    return anchor in doc.section_by_anchor() or anchor in doc.anchors


def render_resolved_errata(draft: m.Spec, reports: dict[str, DiffReport]) -> str:
    """The section the draft version's errata page ends with: the errata of the release
    that the drafts resolve, each linked to its entry on the released errata page."""
    resolved = [
        (doc_id, c)
        for doc_id, report in reports.items()
        for c in report.changes
        if c.kind == "erratum-resolved"
    ]
    lines = [
        "",
        "## Resolved by the editor's drafts {#resolved-by-the-drafts}",
        "",
        f"{len(resolved)} errata of the released texts no longer apply to the drafts; "
        + str(md_link("the changes page", "changes.md"))
        + " lists them with everything else the drafts change.",
        "",
    ]
    for doc_id, c in resolved:
        erratum_id = c.subject.removeprefix("erratum ")
        by = draft.documents[doc_id].code
        lines.append(
            f"* **Resolved** by the {md_text(by)} draft — "
            f"{md_link(md_code(erratum_id), f'../errata.md#{erratum_id}')}: "
            f"{md_inline(c.message.removeprefix('resolved: '))}"
        )
    return "\n".join(lines) + "\n"
