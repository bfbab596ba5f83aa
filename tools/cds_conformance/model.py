"""What a conformance run produces: checks (stable id, MUST/SHOULD, section anchor), their
outcomes, and the HTTP exchanges recorded as evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, WARNED, SKIPPED = "passed", "failed", "warned", "skipped"

#: Where each document is published, to turn anchors into links in reports.
PUBLISHED = {
    "cds-wg1-01": "https://cds-registration.lfenergy.org/specs/cds-wg1-01/",
    "cds-wg1-02": "https://cds-registration.lfenergy.org/specs/cds-wg1-02/",
    "cds-wg3-01": "https://cds-registration.lfenergy.org/specs/cds-wg3-01/",
}


@dataclass(frozen=True)
class Check:
    """One requirement of a document as the suite tests it."""

    id: str
    group: str
    document: str
    anchor: str
    level: str  # MUST | SHOULD
    title: str

    @property
    def section(self) -> str:
        return f"{self.document}#{self.anchor}"

    @property
    def link(self) -> str:
        return PUBLISHED.get(self.document, "") + "#" + self.anchor


@dataclass
class Exchange:
    """One request and its response, secrets redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    elapsed_ms: float
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Outcome:
    check: Check
    status: str
    message: str = ""
    #: Observations that are not failures (e.g. unknown fields a later version may add).
    notes: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def must_failed(self) -> bool:
        return self.status == FAILED and self.check.level == "MUST"

    def to_json(self, *, with_exchanges: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.check.id,
            "group": self.check.group,
            "document": self.check.document,
            "anchor": self.check.anchor,
            "link": self.check.link,
            "level": self.check.level,
            "title": self.check.title,
            "status": self.status,
            "message": self.message,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }
        if with_exchanges:
            out["exchanges"] = [e.to_json() for e in self.exchanges]
        return out


@dataclass
class Report:
    server: str
    outcomes: list[Outcome]
    requests: int
    seconds: float
    started: str
    aborted: str | None = None  # why the run stopped early (budget, timeout), if it did

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys((PASSED, FAILED, WARNED, SKIPPED), 0)
        for o in self.outcomes:
            out[o.status] += 1
        return out

    def section_counts(self) -> dict[str, dict[str, int]]:
        """Counts by ``document#anchor``."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            row = out.setdefault(
                o.check.section, dict.fromkeys((PASSED, FAILED, WARNED, SKIPPED), 0)
            )
            row[o.status] += 1
        return dict(sorted(out.items()))

    @property
    def ok(self) -> bool:
        """No MUST failed (and the run was not cut short)."""
        return self.aborted is None and not any(o.must_failed for o in self.outcomes)

    def failed_ids(self) -> list[str]:
        return [o.check.id for o in self.outcomes if o.status == FAILED]

    def by_id(self) -> dict[str, Outcome]:
        return {o.check.id: o for o in self.outcomes}

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "ok": self.ok,
            "aborted": self.aborted,
            "counts": self.counts(),
            "sections": self.section_counts(),
            "outcomes": [o.to_json(with_exchanges=o.status == FAILED) for o in self.outcomes],
        }
