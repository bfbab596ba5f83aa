"""A corpus of broken sources, as a new user's mistakes and an attacker's files would be.

Each case is a small valid project (``fixtures/minispec`` as ``spec/``, plus ``generated/``
and ``site/`` trees) with one thing broken. ``cdsgen generate`` runs on it in a forked child
(the toolkit is imported once, so the corpus is fast) under an address-space limit and a
timeout. Every case must exit 1 with a ``path:line:col: rule: message`` line naming the
problem, print no traceback, and leave ``generated/`` and ``site/`` byte-identical.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import resource
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MINISPEC = HERE / "fixtures/minispec"
CASE = "spec/cds-test-01/zz-case.yaml"
THINGS = "spec/cds-test-01/things.yaml"

#: Per case: wall-clock limit and address space the child may add to what it inherits.
TIMEOUT_S = 60
EXTRA_ADDRESS_SPACE = 1024 * 1024 * 1024

Setup = Callable[[Path], None]


@dataclass
class Case:
    id: str
    #: Regular expression one stderr line must match (path:line:col: rule: message).
    expect: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Setup | None = None
    #: Regular expressions no stderr line may match (follow-on errors that must not appear).
    absent: tuple[str, ...] = ()
    #: A follow-on error that must be printed after the expected one, marked as such.
    follow: str | None = None


def _write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


GADGET = """objects:
  Gadget:
    anchor: things
    title: Gadget
    summary: A gadget.
    fields:
      id: {type: string, required: true, summary: Identifier.}
"""


def _fifo(rel: str) -> Setup:
    return lambda root: os.mkfifo(root / rel)


def _socket(rel: str) -> Setup:
    def make(root: Path) -> None:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(root / rel))
        s.close()

    return make


def _symlink(rel: str, target: str) -> Setup:
    return lambda root: (root / rel).symlink_to(target)


def _big_invalid(size: int, objects: int) -> Setup:
    """``objects`` invalid objects padded to ``size`` bytes, written without holding them."""

    def make(root: Path) -> None:
        line = "  o{:07d}: {{colour: {}}}\n"
        pad = max(1, (size // objects) - len(line.format(0, "")))
        with open(root / CASE, "w", encoding="utf-8") as fh:
            fh.write("objects:\n")
            for i in range(objects):
                fh.write(line.format(i, "x" * pad))

    return make


def _nest(depth: int) -> str:
    return "objects: " + "[" * depth + "]" * depth + "\n"


def _block_nest(depth: int) -> str:
    return "objects:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth)) + "\n"


BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

EXAMPLE_BAD_JSON = """examples:
  test-bad-json:
    anchor: examples
    summary: A listing with broken JSON.
    operation: listThings
    http: |
      ==Request==
      GET /things HTTP/1.1

      ==Response==
      HTTP/1.1 200 OK

      {"things": [{"id": "a", "kind": "big"}, "next": null
errata:
  - id: test-bad-json-erratum
    anchor: examples
    target: {example: test-bad-json}
    problem: The example's JSON is cut short.
    resolution: Close the listing.
    covers: ["'kind' is a required property", "$.things[0]", "next"]
"""

ENDPOINT_NO_SLASH = """endpoints:
  listGadgets:
    anchor: thing-list
    summary: List gadgets.
    method: GET
    path: gadgets
    responses:
      "200": {type: ThingListing, summary: A page.}
examples:
  test-gadgets:
    anchor: examples
    summary: Listing gadgets.
    operation: listGadgets
    http: |
      ==Request==
      GET /gadgets HTTP/1.1

      ==Response==
      HTTP/1.1 200 OK

      {"things": [], "next": null}
"""

DANGLING_EXTENSION = """extensions:
  - anchor: things
    extends: Gizmo
    summary: Adds a field to something that does not exist.
    fields:
      size: {type: Gizmo, required: false, summary: How big.}
"""

STRAY_OBJECTS = """objects:
  Stray:
    anchor: no-such-anchor
    title: Stray
    summary: An object in a shared file.
    fields:
      other: {type: NoSuchType, required: true, summary: Unknown.}
"""


def _p(path: str, line: int, col: int, rule: str, message: str) -> str:
    return re.escape(f"{path}:{line}:{col}: {rule}: ") + message


CASES: list[Case] = [
    # --- bytes and characters ---------------------------------------------------------------
    Case(
        "nul-byte",
        _p(CASE, 2, 9, "control-character", "NUL byte"),
        {CASE: "objects:\n  Gadget\x00: {}\n"},
    ),
    Case(
        "bell-character",
        _p(CASE, 5, 19, "control-character", r"control character U\+0007"),
        {CASE: GADGET.replace("A gadget.", "A gad\x07get.")},
    ),
    Case(
        "delete-character",
        _p(CASE, 4, 15, "control-character", r".*U\+007F"),
        {CASE: GADGET.replace("Gadget\n    summary", "Gad\x7fget\n    summary")},
    ),
    Case(
        "c1-control",
        _p(CASE, 5, 14, "control-character", r".*U\+009B"),
        {CASE: GADGET.replace("A gadget.", "\u009bgadget.")},
    ),
    Case(
        "noncharacter-fffe",
        _p(CASE, 5, 14, "control-character", r".*U\+FFFE"),
        {CASE: GADGET.replace("A gadget.", "\ufffegadget.")},
    ),
    Case(
        "latin1-byte-on-line-5",
        _p(CASE, 5, 17, "encoding", "not UTF-8: byte 0xe9"),
        {CASE: GADGET.replace("A gadget.", "A g\u00e9dget.").encode("latin-1")},
    ),
    Case(
        "utf16-file",
        _p(CASE, 1, 1, "encoding", "not UTF-8"),
        {CASE: GADGET.encode("utf-16")},
    ),
    Case(
        "encoded-surrogate",
        _p(CASE, 5, 16, "encoding", "not UTF-8: byte 0xed"),
        {CASE: GADGET.replace("A gadget.", "A ").encode() + b""[:0]},
        setup=lambda root: _write(
            root,
            CASE,
            GADGET.replace("A gadget.", "A \udc80gadget.").encode("utf-8", "surrogatepass"),
        ),
    ),
    Case(
        "lone-surrogate-escape",
        _p(CASE, 5, 19, "yaml-syntax", "YAML syntax error: found invalid Unicode character escape"),
        {CASE: GADGET.replace("A gadget.", '"A \\ud800 gadget."')},
    ),
    Case(
        "crlf-line-endings-with-error",
        _p(CASE, 6, 5, "unknown-key", "unknown key 'colour'"),
        {CASE: GADGET.replace("    fields", "    colour: red\n    fields").replace("\n", "\r\n")},
    ),
    # --- YAML -----------------------------------------------------------------------------------
    Case(
        "unclosed-flow",
        _p(CASE, 2, 15, "yaml-syntax", "YAML syntax error: did not find expected node content"),
        {CASE: "objects:\n  Broken: [a, }\n"},
    ),
    Case(
        "bad-indentation",
        _p(CASE, 4, 4, "yaml-syntax", "YAML syntax error: did not find expected key"),
        {CASE: "objects:\n  Gadget:\n    anchor: things\n   title: Gadget\n"},
    ),
    Case(
        "tab-indentation",
        _p(
            CASE,
            3,
            1,
            "yaml-syntax",
            "YAML syntax error: found character '\\\\t' .*a tab: indent with spaces",
        ),
        {CASE: "objects:\n  Gadget:\n\tanchor: things\n"},
    ),
    Case(
        "unclosed-quote",
        _p(
            CASE,
            8,
            1,
            "yaml-syntax",
            "YAML syntax error: found unexpected end of stream .*quoted scalar at line 5",
        ),
        {CASE: GADGET.replace("A gadget.", '"A gadget.').replace("      id:", "      id")},
    ),
    Case(
        "two-documents",
        _p(CASE, 8, 1, "yaml-syntax", "a source file holds one YAML document"),
        {CASE: GADGET + "---\nenums: {}\n"},
    ),
    Case(
        "yaml-2-directive",
        _p(CASE, 1, 1, "yaml-syntax", "YAML syntax error: found incompatible YAML document"),
        {CASE: "%YAML 2.0\n---\n" + GADGET},
    ),
    Case(
        "reserved-indicator",
        _p(
            CASE,
            5,
            14,
            "yaml-syntax",
            "YAML syntax error: found character '@' that cannot start any token",
        ),
        {CASE: GADGET.replace("A gadget.", "@gadget")},
    ),
    Case("billion-laughs", _p(CASE, 1, 4, "yaml-alias", "anchors"), {CASE: BILLION_LAUGHS}),
    Case(
        "alias",
        _p(CASE, 5, 14, "yaml-alias", "anchors \\(&s\\)"),
        {CASE: GADGET.replace("A gadget.", "&s A gadget.") + "  Other: *s\n"},
    ),
    Case(
        "merge-key",
        _p(CASE, 2, 11, "yaml-alias", "anchors"),
        {CASE: "objects:\n  Gadget: &g {anchor: things}\n  Gizmo:\n    <<: *g\n"},
    ),
    Case(
        "include-tag",
        _p(CASE, 5, 14, "yaml-tag", "tag '!include' is not allowed"),
        {CASE: GADGET.replace("A gadget.", "!include other.yaml")},
    ),
    Case(
        "python-name-tag",
        _p(CASE, 5, 14, "yaml-tag", "tag 'tag:yaml.org,2002:python/name:os.system'"),
        {CASE: GADGET.replace("A gadget.", "!!python/name:os.system ''")},
    ),
    Case(
        "python-object-apply",
        _p(CASE, 5, 14, "yaml-tag", "tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
        {CASE: GADGET.replace("A gadget.", '!!python/object/apply:os.system ["true"]')},
    ),
    Case(
        "binary-tag",
        _p(CASE, 5, 14, "yaml-tag", "tag 'tag:yaml.org,2002:binary'"),
        {CASE: GADGET.replace("A gadget.", "!!binary aGk=")},
    ),
    Case(
        "nesting-1000", _p(CASE, 1, 73, "yaml-depth", "nesting deeper than 64"), {CASE: _nest(1000)}
    ),
    Case(
        "nesting-100000",
        _p(CASE, 1, 73, "yaml-depth", "nesting deeper than 64"),
        {CASE: _nest(100_000)},
    ),
    Case(
        "block-nesting-200",
        _p(CASE, 65, 129, "yaml-depth", "nesting deeper than 64"),
        {CASE: _block_nest(200)},
    ),
    Case(
        "mapping-as-key",
        _p(CASE, 2, 5, "yaml-key", "a key must be plain text"),
        {CASE: "objects:\n  ? [a, b]\n  : {anchor: things}\n"},
    ),
    Case(
        "huge-integer",
        _p(CASE, 5, 14, "yaml-value", "cannot read value"),
        {CASE: GADGET.replace("A gadget.", "9" * 5000)},
    ),
    Case(
        "duplicate-key",
        _p(CASE, 5, 5, "duplicate-key", "duplicate key 'title' \\(first defined at line 4\\)"),
        {CASE: GADGET.replace("    summary:", "    title: Again\n    summary:")},
    ),
    Case(
        "top-level-list",
        _p(CASE, 1, 1, "not-a-mapping", "a source file must be a mapping"),
        {CASE: "- objects\n- enums\n"},
    ),
    Case(
        "top-level-scalar",
        _p(CASE, 1, 1, "not-a-mapping", "a source file must be a mapping"),
        {CASE: "just some text\n"},
    ),
    Case("empty-file", _p(CASE, 1, 1, "empty-file", "file defines nothing"), {CASE: ""}),
    Case(
        "comments-only",
        _p(CASE, 1, 1, "empty-file", "file defines nothing"),
        {CASE: "# nothing here yet\n# really\n"},
    ),
    Case(
        "topic-file-emptied", _p(THINGS, 1, 1, "empty-file", "file defines nothing"), {THINGS: "\n"}
    ),
    Case("null-document", _p(CASE, 1, 1, "empty-file", "file defines nothing"), {CASE: "~\n"}),
    # --- files and folders ------------------------------------------------------------------------
    Case(
        "fifo-top-level", _p("spec/x.yaml", 1, 1, "file-kind", "a FIFO"), setup=_fifo("spec/x.yaml")
    ),
    Case("fifo-in-document", _p(CASE, 1, 1, "file-kind", "a FIFO"), setup=_fifo(CASE)),
    Case(
        "socket",
        _p("spec/sock.yaml", 1, 1, "file-kind", "a socket"),
        setup=_socket("spec/sock.yaml"),
    ),
    Case(
        "symlink-leaving-spec",
        _p(CASE, 1, 1, "file-kind", "symlink leads outside"),
        setup=_symlink(CASE, "/etc/passwd"),
    ),
    Case(
        "symlink-to-device",
        _p("spec/zero.yaml", 1, 1, "file-kind", "symlink leads outside"),
        setup=_symlink("spec/zero.yaml", "/dev/zero"),
    ),
    Case(
        "symlinked-folder-outside",
        _p("spec/etc", 1, 1, "file-kind", "symlink leads outside"),
        setup=_symlink("spec/etc", "/etc"),
    ),
    Case(
        "dangling-symlink",
        _p(CASE, 1, 1, "read-error", "cannot read"),
        setup=_symlink(CASE, "no-such-file.yaml"),
    ),
    Case(
        "yml-extension",
        _p(
            "spec/cds-test-01/gadgets.yml",
            1,
            1,
            "unexpected-file",
            "unexpected file: rename it to 'gadgets.yaml'",
        ),
        {"spec/cds-test-01/gadgets.yml": GADGET},
    ),
    Case(
        "file-in-sub-folder",
        _p(
            "spec/cds-test-01/more", 1, 1, "unexpected-file", "unexpected folder in document folder"
        ),
        {"spec/cds-test-01/more/gadgets.yaml": GADGET},
    ),
    Case(
        "folder-named-yaml",
        _p("spec/cds-test-01/x.yaml", 1, 1, "unexpected-file", "unexpected folder"),
        setup=lambda root: (root / "spec/cds-test-01/x.yaml").mkdir(),
    ),
    Case(
        "stray-text-file",
        _p("spec/notes.txt", 1, 1, "unexpected-file", "unexpected file: not a source file"),
        {"spec/notes.txt": "todo\n"},
    ),
    Case(
        "stray-json-in-document",
        _p(
            "spec/cds-test-01/facts.json",
            1,
            1,
            "unexpected-file",
            "unexpected file: not a source file",
        ),
        {"spec/cds-test-01/facts.json": "{}"},
    ),
    Case(
        "stray-objects-top-level",
        _p(
            "spec/stray.yaml",
            1,
            1,
            "misplaced-kind",
            "'objects' in a shared file belongs to no document",
        ),
        {"spec/stray.yaml": STRAY_OBJECTS},
    ),
    Case(
        "stray-enums-top-level",
        _p("spec/stray.yaml", 1, 1, "misplaced-kind", "'enums'"),
        {"spec/stray.yaml": "enums:\n  Colour: {anchor: x, title: C, summary: C, values: {}}\n"},
    ),
    Case(
        "file-of-50-mb",
        _p(CASE, 1, 1, "file-size", "file is 52,[0-9,]+ bytes; a source file may be at most"),
        setup=_big_invalid(50 * 1024 * 1024, 1_000_000),
    ),
    Case(
        "file-of-many-invalid-objects",
        _p(CASE, 1, 1, "schema", "more than 200 problems"),
        setup=_big_invalid(3 * 1024 * 1024, 60_000),
    ),
    Case(
        "folder-without-document",
        _p(
            "spec/cds-test-02/gadgets.yaml",
            1,
            1,
            "document",
            "folder 'cds-test-02' has no document.yaml",
        ),
        {"spec/cds-test-02/gadgets.yaml": GADGET},
    ),
    # --- the format -----------------------------------------------------------------------------
    Case(
        "field-name-with-space",
        _p(
            CASE,
            8,
            7,
            "invalid-name",
            "'map resource' is not a valid name in fields: a name "
            "must use letters, digits and underscores",
        ),
        {CASE: GADGET + "      map resource: {type: string, required: true, summary: Map.}\n"},
    ),
    Case(
        "object-name-lower-case",
        _p(
            CASE,
            2,
            3,
            "invalid-name",
            "'gadget' is not a valid name in objects: a name must start with an upper-case letter",
        ),
        {CASE: GADGET.replace("  Gadget:", "  gadget:")},
    ),
    Case(
        "object-name-with-nul-escape",
        _p(CASE, 2, 3, "invalid-name", "'Gad\\\\x00get' is not a valid name in objects"),
        {CASE: GADGET.replace("  Gadget:", '  "Gad\\0get":')},
    ),
    Case(
        "path-without-slash",
        _p(CASE, 6, 11, "invalid-name", "'gadgets' is not a valid path: it must start with '/'"),
        {CASE: ENDPOINT_NO_SLASH},
        absent=("names unknown operation",),
    ),
    Case(
        "dangling-extension",
        _p(CASE, 3, 14, "extension", "extension of unknown object or enum 'Gizmo'"),
        {CASE: DANGLING_EXTENSION},
        absent=("unknown type 'Gizmo'",),
    ),
    Case(
        "dangling-extension-referenced-earlier",
        _p(CASE, 3, 14, "extension", "extension of unknown object or enum 'Thingg'"),
        {
            CASE: DANGLING_EXTENSION.replace("Gizmo", "Thingg"),
            "spec/cds-test-01/aa-first.yaml": ENDPOINT_NO_SLASH.split("examples:")[0]
            .replace("path: gadgets", "path: /gadgets")
            .replace("anchor: thing-list", "anchor: examples")
            .replace("    method: GET", "    advertised_by: Thing.size\n    method: GET"),
        },
        follow=r".*advertised_by names unknown field 'size' of Thing",
    ),
    Case(
        "example-json-nested-100000-levels",
        _p(
            CASE,
            13,
            1,
            "example-invalid",
            "example 'test-bad-json': response body is not JSON: nested deeper than 64 levels",
        ),
        {
            CASE: EXAMPLE_BAD_JSON.split("errata:")[0].replace(
                '{"things": [{"id": "a", "kind": "big"}, "next": null',
                "[" * 100_000 + "]" * 100_000,
            )
        },
    ),
    Case(
        "example-json-broken-with-erratum",
        _p(CASE, 13, 1, "example-invalid", "example 'test-bad-json': response body is not JSON"),
        {CASE: EXAMPLE_BAD_JSON},
        absent=("erratum-covers",),
    ),
    Case(
        "unknown-key",
        _p(CASE, 5, 5, "unknown-key", "unknown key 'colour'"),
        {CASE: GADGET.replace("    summary:", "    colour: red\n    summary:")},
    ),
    Case(
        "empty-summary",
        _p(CASE, 5, 14, "missing-description", "missing description"),
        {CASE: GADGET.replace("A gadget.", '""')},
    ),
    Case(
        "missing-anchor",
        _p(CASE, 2, 3, "missing-key", "missing required key 'anchor'"),
        {CASE: GADGET.replace("    anchor: things\n", "")},
    ),
    Case(
        "required-not-boolean",
        _p(CASE, 7, 36, "schema", "'yes please' is not of type"),
        {CASE: GADGET.replace("required: true", "required: yes please")},
    ),
    Case(
        "objects-as-list",
        _p(CASE, 1, 10, "schema", ".*is not of type 'object'"),
        {CASE: "objects: [Gadget, Gizmo]\n"},
    ),
    Case(
        "unknown-type",
        _p(CASE, 7, 7, "unknown-type", "unknown type 'Widget'"),
        {CASE: GADGET.replace("{type: string, required: true", "{type: Widget, required: true")},
    ),
    Case(
        "type-syntax",
        _p(CASE, 7, 18, "type-syntax", "missing '\\]'"),
        {CASE: GADGET.replace("{type: string,", '{type: "[string",')},
    ),
    Case(
        "unknown-anchor",
        _p(CASE, 3, 13, "unknown-anchor", "anchor 'gadgets' does not exist"),
        {CASE: GADGET.replace("anchor: things", "anchor: gadgets")},
    ),
    Case(
        "duplicate-name",
        _p(CASE, 2, 3, "duplicate-name", "duplicate name 'Thing'"),
        {CASE: GADGET.replace("  Gadget:", "  Thing:")},
    ),
    Case(
        "status-not-a-code",
        _p(CASE, 8, 7, "invalid-name", "'2xx' is not a valid name in responses"),
        {
            CASE: ENDPOINT_NO_SLASH.split("examples:")[0]
            .replace("path: gadgets", "path: /gadgets")
            .replace('"200"', '"2xx"')
        },
    ),
    Case(
        "empty-document-folder",
        _p("spec/cds-test-02", 1, 1, "document", "folder 'cds-test-02' holds no source files"),
        {"spec/cds-test-02/published-facts.json": "{}"},
    ),
    Case(
        "document-id-mismatch",
        _p(
            "spec/cds-test-02/document.yaml",
            3,
            7,
            "document",
            "document id 'cds-test-03' does not match its folder 'cds-test-02'",
        ),
        {
            "spec/cds-test-02/document.yaml": (MINISPEC / "cds-test-01/document.yaml")
            .read_text()
            .replace("id: cds-test-01", "id: cds-test-03")
        },
    ),
    Case(
        "unknown-dependency",
        _p(
            "spec/cds-test-01/document.yaml",
            6,
            16,
            "unknown-document",
            "unknown document 'cds-nope-01'",
        ),
        setup=lambda root: _write(
            root,
            "spec/cds-test-01/document.yaml",
            (MINISPEC / "cds-test-01/document.yaml")
            .read_text()
            .replace("  version: 0.0.1", "  depends_on: [cds-nope-01]\n  version: 0.0.1"),
        ),
    ),
    Case(
        "document-section-without-number",
        _p("spec/cds-test-01/document.yaml", 12, 7, "missing-key", "missing required key 'number'"),
        setup=lambda root: _write(
            root,
            "spec/cds-test-01/document.yaml",
            (MINISPEC / "cds-test-01/document.yaml")
            .read_text()
            .replace('{number: "2", title: Thing Format', "{title: Thing Format"),
        ),
    ),
    Case(
        "errata-as-number",
        _p(CASE, 1, 9, "schema", "5 is not of type 'array'"),
        {CASE: "errata: 5\n"},
    ),
    Case(
        "primitive-schema-not-a-schema",
        _p("spec/zz-primitives.yaml", 4, 20, "schema", "not a valid JSON Schema: 1 is not valid"),
        {
            "spec/zz-primitives.yaml": "primitives:\n  odd:\n    summary: Odd.\n"
            "    schema: {type: 1}\n"
        },
    ),
    Case(
        "invalid-extra-fields-regex",
        _p(CASE, 6, 27, "schema", "'\\(\\[' is not a valid regex: unterminated character set"),
        {
            CASE: GADGET.replace(
                "    summary: A gadget.\n",
                '    summary: A gadget.\n    extra_fields_pattern: "(["\n',
            )
        },
    ),
    Case(
        "extension-of-own-object",
        _p(CASE, 3, 14, "extension", "'Thing' is defined by cds-test-01 itself"),
        {CASE: DANGLING_EXTENSION.replace("Gizmo", "Thing")},
    ),
]


def _digest(root: Path) -> dict[str, str]:
    """Content hash of every file under the output trees."""
    out = {}
    for tree in ("generated", "site"):
        for p in sorted((root / tree).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(MINISPEC, root / "spec")
    _write(root, "generated/openapi/cds.openapi.json", '{"openapi": "3.1.0"}\n')
    _write(root, "generated/python/cds_models/__init__.py", '"""Old models."""\n')
    _write(root, "site/index.md", "# Home\n")
    _write(root, "site/spec/index.md", "# Old spec page\n")
    return root


def _run_in_child(root: Path, argv: list[str]) -> tuple[int, str, float]:
    """Run ``cdsgen`` in a forked child (bounded address space, timeout); (status, stderr)."""
    from cdsgen.cli import main

    _warm_up()

    log = root.parent / "stderr.txt"
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 99
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            sys.stdout = sys.stderr
            vm = _vm_size()
            resource.setrlimit(resource.RLIMIT_AS, (vm + EXTRA_ADDRESS_SPACE,) * 2)
            os.chdir(root)
            status = main(argv)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(status if isinstance(status, int) else 98)
    deadline = start + TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -1, log.read_text(errors="replace"), time.monotonic() - start
        time.sleep(0.01)
    code = os.waitstatus_to_exitcode(status)
    return code, log.read_text(errors="replace"), time.monotonic() - start


@functools.cache
def _warm_up() -> None:
    """Import and compile once in the parent what every child needs (the generation
    modules, the compiled meta-schema), so each forked case costs only its own work."""
    import cdsgen.generate  # noqa: F401
    from cdsgen.lint import lint

    lint(MINISPEC)


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def test_corpus_has_at_least_sixty_kinds():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def test_fixture_project_itself_lints_clean(tmp_path):
    root = _project(tmp_path)
    code, err, _ = _run_in_child(root, ["lint"])
    assert code == 0, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_source_gives_a_positioned_message(case: Case, tmp_path):
    root = _project(tmp_path)
    for rel, content in case.files.items():
        _write(root, rel, content)
    if case.setup is not None:
        case.setup(root)
    before = _digest(root)
    code, err, seconds = _run_in_child(root, ["generate"])
    assert code != -1, f"still running after {TIMEOUT_S} s:\n{err[-2000:]}"
    assert "Traceback" not in err, err[-4000:]
    assert code == 1, err[-4000:]
    lines = err.splitlines()
    assert any(re.match(case.expect, line) for line in lines), (
        f"no line matches {case.expect!r}:\n" + "\n".join(lines[:40])
    )
    if case.follow is not None:
        cause = next(i for i, line in enumerate(lines) if re.match(case.expect, line))
        after = [line for line in lines[cause + 1 :] if re.match(case.follow, line)]
        assert after, f"no follow-on line matching {case.follow!r} after the cause"
        assert all("(follows from " in line for line in after), after
        early = [line for line in lines[:cause] if re.match(case.follow, line)]
        assert not early, f"follow-on printed before its cause: {early}"
    for pattern in case.absent:
        follow = [line for line in lines if re.search(pattern, line)]
        assert not follow, "follow-on errors: " + "\n".join(follow)
    assert len(lines) <= 205, f"{len(lines)} lines printed: the output is not capped"
    assert _digest(root) == before, "generated/ or site/ changed"
    leftovers = [p for t in ("generated", "site") for p in (root / t).glob(".*tmp*")]
    assert not leftovers, f"temporary folders left: {leftovers}"
