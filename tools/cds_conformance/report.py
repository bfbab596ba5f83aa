"""The run's report in four forms: a summary table for the terminal, JUnit XML for CI, JSON,
and one self-contained HTML page with the requests and responses of each failed check."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from cds_conformance.model import FAILED, PASSED, SKIPPED, WARNED, Outcome, Report

_MARK = {PASSED: "✓", FAILED: "✗", WARNED: "!", SKIPPED: "-"}


def progress_line(group: str, outcomes: list[Outcome], aborted: bool) -> str:
    counts = defaultdict(int)
    for o in outcomes:
        counts[o.status] += 1
    marks = "".join(_MARK[o.status] for o in outcomes)
    parts = ", ".join(f"{counts[s]} {s}" for s in (PASSED, FAILED, WARNED, SKIPPED) if counts[s])
    return f"{group:<13} {marks:<30.30} {parts or 'nothing to run'}" + (
        "  (stopped)" if aborted else ""
    )


def summary_table(report: Report) -> str:
    """passed/failed/warned/skipped by document and section, then the failures."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for o in report.outcomes:
        row = rows.setdefault((o.check.document, o.check.anchor), defaultdict(int))
        row[o.status] += 1
    width = max([len(f"{d}#{a}") for d, a in rows] + [16])
    head = f"{'document#section':<{width}}  passed  failed  warned  skipped"
    lines = [head, "-" * len(head)]
    for (doc, anchor), c in sorted(rows.items()):
        lines.append(
            f"{doc + '#' + anchor:<{width}}  {c[PASSED]:>6}  {c[FAILED]:>6}  "
            f"{c[WARNED]:>6}  {c[SKIPPED]:>7}"
        )
    total = report.counts()
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<{width}}  {total[PASSED]:>6}  {total[FAILED]:>6}  {total[WARNED]:>6}  "
        f"{total[SKIPPED]:>7}"
    )
    for o in report.outcomes:
        if o.status in (FAILED, WARNED):
            lines.append(f"{o.status.upper()} {o.check.level} {o.check.id}: {o.message}")
    skipped = [o for o in report.outcomes if o.status == SKIPPED]
    if skipped:
        lines.append("skipped:")
        lines += [f"  {o.check.id}: {o.message}" for o in skipped]
    verdict = "CONFORMS (no MUST failed)" if report.ok else "DOES NOT CONFORM"
    if report.aborted:
        verdict += f" — run stopped: {report.aborted}"
    lines.append(
        f"{verdict}; {len(report.outcomes)} checks, {report.requests} requests, "
        f"{report.seconds:.1f}s"
    )
    return "\n".join(lines)


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False), "utf-8")


def write_junit(report: Report, path: Path) -> None:
    suites = ET.Element("testsuites", name="cds-conformance")
    by_group: dict[str, list[Outcome]] = defaultdict(list)
    for o in report.outcomes:
        by_group[o.check.group].append(o)
    for group, outcomes in by_group.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=group,
            tests=str(len(outcomes)),
            failures=str(sum(o.status == FAILED for o in outcomes)),
            skipped=str(sum(o.status == SKIPPED for o in outcomes)),
        )
        for o in outcomes:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{o.check.document}.{o.check.group}",
                name=o.check.id,
                time=f"{o.seconds:.3f}",
            )
            if o.status == FAILED:
                ET.SubElement(
                    case, "failure", message=o.message[:500]
                ).text = f"{o.check.level} {o.check.link}\n{o.message}"
            elif o.status == SKIPPED:
                ET.SubElement(case, "skipped", message=o.message[:500])
            elif o.status == WARNED:
                ET.SubElement(case, "system-out").text = f"WARNING ({o.check.level}): {o.message}"
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left}
.passed{color:#1a7f37}.failed{color:#cf222e}.warned{color:#9a6700}.skipped{color:#57606a}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:30rem;font-size:.8rem}
details{margin:.3rem 0 1rem 1rem}
"""


def write_html(report: Report, path: Path) -> None:
    e = html.escape
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>CDS conformance: {e(report.server)}</title><style>{_CSS}</style></head><body>",
        f"<h1>CDS conformance report</h1><p>Server <code>{e(report.server)}</code>, started "
        f"{e(report.started)}, {report.seconds:.1f}s, {report.requests} requests. "
        f"<strong class='{'passed' if report.ok else 'failed'}'>"
        f"{'No MUST failed' if report.ok else 'A MUST failed'}</strong>"
        + (f" — stopped: {e(report.aborted)}" if report.aborted else "")
        + "</p>",
        "<table><tr><th>check</th><th>level</th><th>section</th><th>result</th>"
        "<th>message</th></tr>",
    ]
    for o in report.outcomes:
        out.append(
            f"<tr><td><a href='#{e(o.check.id)}'>{e(o.check.id)}</a></td>"
            f"<td>{o.check.level}</td><td><a href='{e(o.check.link)}'>{e(o.check.section)}</a>"
            f"</td><td class='{o.status}'>{o.status}</td><td>{e(o.message[:300])}</td></tr>"
        )
    out.append("</table>")
    for o in report.outcomes:
        if o.status != FAILED:
            continue
        out.append(
            f"<h2 id='{e(o.check.id)}' class='failed'>{e(o.check.id)}</h2>"
            f"<p>{e(o.check.title)} ({o.check.level}, "
            f"<a href='{e(o.check.link)}'>{e(o.check.section)}</a>)</p><pre>{e(o.message)}</pre>"
        )
        for x in o.exchanges:
            req_headers = "\n".join(f"{k}: {v}" for k, v in x.request_headers.items())
            res_headers = "\n".join(f"{k}: {v}" for k, v in x.response_headers.items())
            out.append(
                f"<details><summary>{e(x.method)} {e(x.url)} → {x.status or e(x.error or '')}"
                f" ({x.elapsed_ms:g} ms)</summary><pre>{e(x.method)} {e(x.url)}\n"
                f"{e(req_headers)}\n\n{e(str(x.request_body))}</pre><pre>{x.status}\n"
                f"{e(res_headers)}\n\n{e(x.response_body)}</pre></details>"
            )
    out.append("</body></html>")
    path.write_text("\n".join(out), "utf-8")
