"""Problems found in the source, each tied to the file, line and column it comes from, and to a
stable rule id (``unknown-type``, ``yaml-syntax`` …) that users can look up and tools can match.

The list of rules, :data:`RULES`, is the one place a rule is named; the format guide
(``spec/README.md``, "Lint rules") documents the same list and a test keeps them in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


#: Every rule a diagnostic can carry, with what it checks (documented in spec/README.md).
RULES: dict[str, str] = {
    # reading files
    "source-folder": "the source folder exists and is a folder",
    "unexpected-file": "every file under spec/ is a source file or a known companion file",
    "file-kind": "source files are regular files inside spec/ (no FIFO, device, socket, "
    "or symlink leaving spec/)",
    "file-size": "a source file is at most 4 MiB",
    "read-error": "the file can be read",
    "encoding": "a source file is UTF-8",
    "control-character": "no NUL, control character or lone surrogate in the source text",
    "yaml-syntax": "the file is one well-formed YAML document",
    "yaml-depth": "mappings and lists nest at most 64 levels deep",
    "yaml-alias": "no YAML anchors or aliases",
    "yaml-tag": "no explicit YAML tags such as !include or !!python/name",
    "yaml-key": "mapping keys are plain text",
    "yaml-value": "every scalar can be read (e.g. integers of at most 4300 digits)",
    "duplicate-key": "a key appears once in its mapping",
    "empty-file": "a source file defines something",
    # the meta-schema
    "not-a-mapping": "a source file is a mapping of kinds",
    "unknown-key": "only keys the format defines",
    "missing-key": "every required key is present",
    "missing-description": "every item has a non-empty summary",
    "invalid-name": "names and values follow the format's patterns",
    "schema": "values have the type and form the format requires",
    "misplaced-kind": "shared files hold primitives only; documents live in their folder",
    # documents and names
    "document": "each folder has one document.yaml whose id matches the folder",
    "unknown-document": "depends_on names known documents",
    "dependency-cycle": "documents do not depend on themselves",
    "unknown-anchor": "anchors and sections exist in the published document",
    "duplicate-anchor": "an anchor is used by one item of a kind",
    "duplicate-name": "a name is defined once across all documents",
    "type-syntax": "type expressions parse",
    "unknown-type": "every type named exists",
    "union": "unions are well-formed (discriminator, members)",
    "extension": "extensions name a known object or enum of a dependency",
    "duplicate-member": "an extension adds fields or values the target lacks",
    "unknown-field": "conditions, rules, filters, ordering and advertised_by name known fields",
    "endpoint": "endpoints are well-formed (path parameters, scopes)",
    "duplicate-item": "operation, scope, example and erratum ids are unique",
    "unknown-reference": "examples, scopes and errata name items that exist",
    "allowed-value": "allowed values of an enum-typed field are values of the enum",
    "object-link": "refers_to names an object and sits on id strings; fills names OPTIONAL "
    "fields of known objects",
    "version": "the version asked for, and the documents when_version names, exist",
    # whole-model checks
    "example-invalid": "every example is valid against what it illustrates",
    "erratum-covers": "an erratum covers only problems its example has",
    "example-correction": "an erratum's correction applies to its example and leaves it valid",
    "erratum": "an erratum recorded against the published text (a warning)",
    "cross-document-link": "a link to another document names an anchor of the version it "
    "names, or is recorded as an erratum",
    "published-coverage": "every object, enumeration and listing of the published facts "
    "snapshot has a source",
    # other engineers' checks that do not name a rule yet
    "source": "any other problem of the source",
}


@dataclass(frozen=True, order=True)
class Pos:
    """A 1-based position in a source file."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Diagnostic:
    pos: Pos
    message: str
    severity: Severity = Severity.ERROR
    rule: str = "source"
    #: For a follow-on problem: where the problem it follows from is reported.
    cause: Pos | None = None

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        follows = f" (follows from {self.cause})" if self.cause is not None else ""
        return printable(f"{self.pos}: {self.rule}: {prefix}{self.message}{follows}")

    def sort_key(self) -> tuple:
        """By position; a follow-on problem right after the problem it follows from."""
        if self.cause is None:
            return (self.pos, 0, self.pos, self.message)
        return (self.cause, 1, self.pos, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.pos.path,
            "line": self.pos.line,
            "column": self.pos.col,
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "follows_from": str(self.cause) if self.cause is not None else None,
        }

    def github(self) -> str:
        """A GitHub Actions workflow command: shown as an annotation on the line."""
        level = "error" if self.severity is Severity.ERROR else "warning"
        where = f"file={_gh_property(self.pos.path)},line={self.pos.line},col={self.pos.col}"
        title = f"title={_gh_property(self.rule)}"
        return f"::{level} {where},{title}::{_gh_data(printable(self.message))}"


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with control characters, bidi controls and lone surrogates escaped, so a
    message quoting the source cannot drive the terminal or hide its own text."""
    return _UNPRINTABLE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


#: How many diagnostics of each severity are kept; the rest are only counted, so memory stays
#: bounded whatever the input (a file of a million broken objects).
KEEP_LIMIT = 10_000


@dataclass
class Diagnostics:
    """Collects problems; each distinct problem is kept once."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[Diagnostic] = field(default_factory=set, repr=False)
    #: Problems counted but not kept, by severity (beyond :data:`KEEP_LIMIT`).
    dropped: dict[Severity, int] = field(default_factory=dict)
    _kept: dict[Severity, int] = field(default_factory=dict, repr=False)

    def error(self, pos: Pos, message: str, rule: str = "source", cause: Pos | None = None) -> None:
        self._add(Diagnostic(pos, message, Severity.ERROR, rule, cause))

    def warning(self, pos: Pos, message: str, rule: str = "source") -> None:
        self._add(Diagnostic(pos, message, Severity.WARNING, rule))

    def _add(self, diag: Diagnostic) -> None:
        if diag.rule not in RULES:
            raise ValueError(f"unknown rule id '{diag.rule}': add it to diagnostics.RULES")
        if diag in self._seen:
            return
        if self._kept.get(diag.severity, 0) >= KEEP_LIMIT:
            self.dropped[diag.severity] = self.dropped.get(diag.severity, 0) + 1
            return
        self._kept[diag.severity] = self._kept.get(diag.severity, 0) + 1
        self._seen.add(diag)
        self.items.append(diag)

    def merge(self, other: Diagnostics) -> None:
        """Add what ``other`` collected (e.g. in a worker process), each problem once."""
        for diag in other.items:
            self._add(diag)
        for severity, count in other.dropped.items():
            self.dropped[severity] = self.dropped.get(severity, 0) + count

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.dropped.get(Severity.ERROR, 0)

    @property
    def warning_count(self) -> int:
        return len(self.warnings) + self.dropped.get(Severity.WARNING, 0)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)


#: Output formats of ``cdsgen lint --format``.
FORMATS = ("text", "json", "github")


def render(diags: Iterable[Diagnostic], fmt: str, limit: int | None, total: int) -> list[str]:
    """The lines to print for ``diags`` (already filtered and sorted) in format ``fmt``.

    At most ``limit`` diagnostics are shown (``None``: all), then "… and N more", where N
    counts every further problem found (``total`` includes those only counted)."""
    shown = list(diags)[: limit if limit is not None else None]
    more = total - len(shown)
    if fmt == "json":
        payload = {"diagnostics": [d.to_json() for d in shown], "omitted": more}
        return [json.dumps(payload, indent=2, ensure_ascii=False)]
    lines = [d.github() if fmt == "github" else str(d) for d in shown]
    if more > 0:
        note = f"… and {more} more (use --max-diagnostics 0 to list all)"
        lines.append(f"::notice::{note}" if fmt == "github" else note)
    return lines


def relpath(path: Path, root: Path) -> str:
    """Path as users type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(root.resolve().parent))
        except ValueError:
            return str(path)
