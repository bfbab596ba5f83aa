"""The report as text, breaking changes first."""

from __future__ import annotations

from cdsgen.diff.core import (
    BREAKING,
    CLIENTS,
    COMPATIBLE,
    INFO,
    SERVERS,
    SEVERITIES,
    Change,
    DiffReport,
    DocumentSide,
)


# -- text output ---------------------------------------------------------------------------------
def _version_text(d: DocumentSide) -> str:
    if d.old_version is None:
        return f"new, {d.new_version}"
    if d.new_version is None:
        return f"removed, was {d.old_version}"
    if d.old_version == d.new_version:
        return f"version {d.new_version}"
    return f"version {d.old_version} → {d.new_version}"


def _who(c: Change) -> str:
    broken = [p.capitalize() for p in (CLIENTS, SERVERS) if getattr(c, p) == BREAKING]
    return "breaking for " + " and ".join(broken)


def render_text(report: DiffReport) -> str:
    """The report as readable text: grouped by document, breaking changes first."""
    lines = [f"cdsgen diff {report.old_label} → {report.new_label}"]
    if not report.changes:
        lines.append("no changes")
        return "\n".join(lines) + "\n"
    for side, changes in report.by_document():
        title = f"{side.code} {side.title} ({_version_text(side)})" if side.id else "Shared types"
        lines += ["", title]
        for severity in SEVERITIES:
            group = [c for c in changes if c.severity == severity]
            if not group:
                continue
            lines.append(f"  {severity} ({len(group)})")
            for c in group:
                who = f" [{_who(c)}]" if severity == BREAKING else ""
                where = f" (#{c.anchor})" if c.anchor else ""
                lines.append(f"    - {c.subject}{where}: {c.message}{who}")
                if c.why:
                    lines.append(f"        {c.why}")
    n = report.counts()
    lines += [
        "",
        f"{len(report.changes)} change(s): {n[BREAKING]} breaking "
        f"({n['breaking_for_clients']} for Clients, {n['breaking_for_servers']} for Servers), "
        f"{n[COMPATIBLE]} compatible, {n[INFO]} informational",
    ]
    for d in report.unbumped():
        lines.append(
            f"note: {d.code} has breaking changes but its version is still {d.new_version}"
        )
    return "\n".join(lines) + "\n"
