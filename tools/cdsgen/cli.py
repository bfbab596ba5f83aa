"""The ``cdsgen`` command line: lint, generate, serve, outline, facts, diff, changelog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cdsgen.diagnostics import Severity

if TYPE_CHECKING:
    from cdsgen.diff import DiffReport


def _root(args: argparse.Namespace) -> Path:
    return Path(args.spec)


def cmd_lint(args: argparse.Namespace) -> int:
    from cdsgen.lint import lint

    result = lint(_root(args))
    shown = [
        d for d in result.diagnostics.sorted() if args.warnings or d.severity is Severity.ERROR
    ]
    for d in shown:
        print(d)
    errors, warnings = len(result.diagnostics.errors), len(result.diagnostics.warnings)
    hint = "" if args.warnings or not warnings else " (--warnings to list them)"
    print(f"{errors} error(s), {warnings} warning(s){hint}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_generate(args: argparse.Namespace) -> int:
    from cdsgen.emit.codegen import PendingCodegen

    codegen = PendingCodegen()  # started before the imports below: it imports meanwhile
    from cdsgen import writer
    from cdsgen.generate import TREES, generate, project_root

    diags, outputs = generate(_root(args), codegen)
    for d in diags.sorted():
        if d.severity is Severity.ERROR:
            print(d, file=sys.stderr)
    if outputs is None:
        print(f"{len(diags.errors)} error(s) in the source; nothing was written", file=sys.stderr)
        return 1
    base = project_root(_root(args))
    if args.check:
        stale = writer.check(base, outputs, TREES)
        for line in stale.lines():
            print(line)
        if not stale.ok:
            print("generated outputs are out of date: run `cdsgen generate`", file=sys.stderr)
            return 1
        print(f"{len(outputs)} generated files are up to date", file=sys.stderr)
        return 0
    touched = writer.write(base, outputs, TREES)
    print(f"{len(outputs)} files generated, {len(touched)} changed", file=sys.stderr)
    return 0


def cmd_check_scopes(args: argparse.Namespace) -> int:
    import json

    from cdsgen.diagnostics import Diagnostics
    from cdsgen.loader import load_spec
    from cdsgen.scope_rules import check_scope_descriptions

    diags = Diagnostics()
    spec = load_spec(_root(args), diags)
    if diags.errors:
        for d in diags.sorted():
            print(d, file=sys.stderr)
        return 2
    try:
        metadata = json.loads(Path(args.metadata).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.metadata}: cannot read authorization server metadata: {exc}", file=sys.stderr)
        return 2
    violations = check_scope_descriptions(spec, metadata)
    for v in violations:
        print(v)
    count = len(metadata.get("cds_scope_descriptions") or {})
    print(f"{count} scope description(s), {len(violations)} violation(s)", file=sys.stderr)
    return 1 if violations else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cdsgen.server import create_app
    from cdsgen.server.guard import public_origin

    host = f"[{args.host}]" if ":" in args.host else args.host
    public_url = args.public_url or f"http://{host}:{args.port}"
    try:
        public_origin(public_url)
    except ValueError as exc:
        print(f"cdsgen serve: --public-url: {exc}", file=sys.stderr)
        return 2
    try:  # in this process even with workers: a bad key file is reported here, once
        app = create_app(args.db, page_size=args.page_size, public_url=public_url)
    except ValueError as exc:  # KeyMismatch, or an unreadable key file
        print(f"cdsgen serve: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _serve_workers(args, public_url)
    print(
        f"cdsgen reference Server on http://{host}:{args.port}/ as {public_url} "
        f"(database {args.db})",
        file=sys.stderr,
    )
    # Proxy headers (X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS, default 127.0.0.1) only
    # set the client address; every URL the Server writes comes from the public URL.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=args.proxy_headers,
        log_level="warning",
    )
    return 0


def _serve_workers(args: argparse.Namespace, public_url: str) -> int:
    """``cdsgen serve --workers N``: the same Server in N processes (cdsgen.server.workers)."""
    from cdsgen.server.workers import serve_workers

    where = f"http://{args.host}:{args.port}/ as {public_url} ({args.workers} workers)"
    print(f"cdsgen reference Server on {where} (database {args.db})", file=sys.stderr)
    serve_workers(
        args.db,
        {**vars(args), "public_url": public_url},
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        log_level="warning",
    )
    return 0


def _positive(text: str) -> int:
    """An integer of at least 1, for ``--workers``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def cmd_outline(args: argparse.Namespace) -> int:
    from cdsgen.outline import outline_yaml, read_outline

    sys.stdout.write(outline_yaml(read_outline(Path(args.file))))
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    """One published text (to -o or standard output), or a folder of them: then each
    document folder of the source gets (or, with --check, is compared with) its snapshot."""
    from cdsgen.published import SNAPSHOT_NAME

    source = Path(args.file)
    if source.is_dir():
        if args.output or args.document:
            print(
                "cdsgen facts: a folder of published texts takes no -o/--document; each "
                f"document folder of {_root(args)} gets its {SNAPSHOT_NAME}",
                file=sys.stderr,
            )
            return 2
        folders = sorted(d for d in _root(args).glob("*") if (d / "document.yaml").is_file())
        jobs = [(source / f"{d.name}.md", d / SNAPSHOT_NAME, d.name) for d in folders]
        # an editor's draft: spec/<id>/dev/ from <folder>/dev/<id>-dev.md
        jobs += [
            (source / "dev" / f"{d.name}-dev.md", d / "dev" / SNAPSHOT_NAME, d.name)
            for d in folders
            if (d / "dev" / "document.yaml").is_file()
        ]
    else:
        out = Path(args.output) if args.output else None
        jobs = [(source, out, args.document)]
    if args.check and jobs and jobs[0][1] is None:
        print("cdsgen facts: --check needs -o SNAPSHOT to compare with", file=sys.stderr)
        return 2
    return max((_facts_one(src, out, doc, args.check) for src, out, doc in jobs), default=0)


def _facts_one(source: Path, output: Path | None, document: str | None, check: bool) -> int:
    from cdsgen.published import FactsError, dumps, extract, stale_diff

    try:
        text = dumps(extract(source, document))
    except FactsError as exc:
        print(f"cdsgen facts: {exc}", file=sys.stderr)
        return 2
    if output is None:
        sys.stdout.write(text)
        return 0
    if not check:
        output.write_text(text, encoding="utf-8")
        print(f"{output} written from {source}", file=sys.stderr)
        return 0
    try:
        committed = output.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{output}: cannot read the snapshot: {exc.strerror}", file=sys.stderr)
        return 1
    diff = stale_diff(committed, text, str(output))
    if diff:
        print(diff)
        print(f"{output} is stale: run `cdsgen facts {source} -o {output}`", file=sys.stderr)
        return 1
    print(f"{output} is up to date with {source}", file=sys.stderr)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from cdsgen.diff import compare, only_document
    from cdsgen.history import HistoryError, load_folder, load_source

    spec_dir = _root(args)
    if args.release_vs_draft is not None:
        return _diff_release_vs_draft(args, spec_dir)
    if args.against is not None:
        if args.old is not None:
            print("give either OLD [NEW] or --against REF", file=sys.stderr)
            return 2
        args.old = args.against
    if args.old is None:
        print("nothing to compare: give OLD [NEW] or --against REF", file=sys.stderr)
        return 2
    try:
        old = load_source(args.old, spec_dir)
        new = load_source(args.new, spec_dir) if args.new else load_folder(spec_dir, "working tree")
    except HistoryError as exc:
        print(f"cdsgen diff: {exc}", file=sys.stderr)
        return 2
    for side in (old, new):
        if side.errors:
            print(
                f"warning: {side.label} has {side.errors} source error(s); "
                "items with errors are left out of the comparison",
                file=sys.stderr,
            )
    report = compare(old.spec, new.spec, old.label, new.label)
    document = old.document or new.document
    if document is not None:
        report = only_document(report, document, new.spec, old.spec)
    return _print_report(report, args.format)


def _diff_release_vs_draft(args: argparse.Namespace, spec_dir: Path) -> int:
    """``cdsgen diff --release-vs-draft <id>``: the document's release against its draft."""
    from cdsgen.diff import compare, only_document
    from cdsgen.history import load_version
    from cdsgen.loader import DRAFT, RELEASED, draft_documents

    document = args.release_vs_draft
    if document not in draft_documents(spec_dir):
        drafts = ", ".join(draft_documents(spec_dir)) or "none"
        print(
            f"cdsgen diff: '{document}' has no draft ({spec_dir}/{document}/{DRAFT}/); "
            f"documents with drafts: {drafts}",
            file=sys.stderr,
        )
        return 2
    old = load_version(spec_dir, RELEASED, document)
    new = load_version(spec_dir, DRAFT, document)
    for side in (old, new):
        if side.errors:
            print(f"warning: {side.label} has {side.errors} source error(s)", file=sys.stderr)
    report = only_document(
        compare(old.spec, new.spec, old.label, new.label), document, new.spec, old.spec
    )
    return _print_report(report, args.format)


def _print_report(report: DiffReport, fmt: str) -> int:
    import json

    from cdsgen.diff import render_text

    if fmt == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(report))
    return 1 if report.breaking else 0


def cmd_release(args: argparse.Namespace) -> int:
    from cdsgen.drafts import ReleaseError, cut_release

    try:
        done = cut_release(_root(args), args.document, args.version, args.status)
    except ReleaseError as exc:
        print(f"cdsgen release: {exc}", file=sys.stderr)
        return 2
    for line in done:
        print(line)
    print(
        f"{args.document} {args.version} released from its draft; "
        "run `cdsgen lint` and `cdsgen generate`",
        file=sys.stderr,
    )
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    from cdsgen.drafts import ReleaseError, start_draft

    try:
        done = start_draft(_root(args), args.document, args.version)
    except ReleaseError as exc:
        print(f"cdsgen draft: {exc}", file=sys.stderr)
        return 2
    for line in done:
        print(line)
    return 0


def cmd_changelog(args: argparse.Namespace) -> int:
    from cdsgen.history import changelog_markdown

    text = changelog_markdown(_root(args), unreleased=args.unreleased)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdsgen", description=__doc__)
    parser.add_argument("--spec", default="spec", help="source folder (default: spec)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lint", help="check the source; exit 1 on any error")
    p.add_argument("-w", "--warnings", action="store_true", help="also list warnings (errata)")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("generate", help="regenerate every artefact from the source")
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any output is stale"
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "check-scopes", help="check a Server's scope descriptions against the documents' rules"
    )
    p.add_argument("metadata", help="authorization server metadata JSON (e.g. a saved response)")
    p.set_defaults(func=cmd_check_scopes)

    p = sub.add_parser("serve", help="run the reference Server (embedded SQLite, sample data)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument(
        "--db",
        default="cds-reference.sqlite3",
        help="SQLite file, created and seeded on first start",
    )
    p.add_argument(
        "--page-size", type=int, default=100, help="items per listing page (default: 100)"
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the base URL Clients use, http(s)://host[:port]; every URL the Server writes "
        "starts there, whatever Host a request names (default: http://HOST:PORT)",
    )
    p.add_argument(
        "--proxy-headers",
        action="store_true",
        help="behind a reverse proxy: take the client address from X-Forwarded-For (from "
        "the addresses in FORWARDED_ALLOW_IPS, default 127.0.0.1); URLs still follow --public-url",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes answering on the port (default: 1)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("outline", help="print the outline of a published document as YAML")
    p.add_argument("file", help="published markdown, e.g. ../shared/reference/cds-wg1-01.md")
    p.set_defaults(func=cmd_outline)

    p = sub.add_parser(
        "facts",
        help="extract the facts of a published text into a JSON snapshot (no prose)",
        description="Names, types, REQUIRED/OPTIONAL, nullability, enumerated values, filters, "
        "orderings, scopes, authorization details fields, outline, anchors and example bodies "
        "of a published CDS markdown text; commit it as spec/<doc-id>/published-facts.json.",
    )
    p.add_argument(
        "file",
        help="published markdown (e.g. ../shared/reference/cds-wg1-01.md), or a folder of them "
        "named <doc-id>.md to refresh every spec/<doc-id>/published-facts.json",
    )
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.add_argument("--document", help="document id to record (default: the file name's stem)")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a short diff if the -o snapshot is stale",
    )
    p.set_defaults(func=cmd_facts)

    p = sub.add_parser(
        "diff",
        help="list every change between two versions of the source; exit 1 if any is breaking",
        description="OLD and NEW are source folders, git refs (the spec/ tree at that commit) "
        "or document folders (spec/<id> is its release, spec/<id>/dev its editor's draft); "
        "NEW defaults to the working tree. --release-vs-draft <id> compares a document's "
        "release with its draft. Each change is classified as breaking, compatible or "
        "informational for Clients and for Servers, with the section (anchor) it concerns.",
    )
    p.add_argument("old", nargs="?", help="git ref or source folder to compare from")
    p.add_argument("new", nargs="?", help="git ref or source folder to compare to (default: spec)")
    p.add_argument("--against", metavar="REF", help="compare the working tree against REF")
    p.add_argument(
        "--release-vs-draft",
        metavar="DOC",
        help="compare a document's release (spec/DOC) with its editor's draft (spec/DOC/dev)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "release",
        help="cut a release: the draft spec/DOC/dev/ becomes spec/DOC/ with a new version",
    )
    p.add_argument("document", help="document id, e.g. cds-wg1-02")
    p.add_argument("version", help="the release's version, e.g. 1.1.0")
    p.add_argument("--status", choices=["draft", "consensus", "final", "superseded"])
    p.set_defaults(func=cmd_release)

    p = sub.add_parser(
        "draft", help="start an editor's draft: copy spec/DOC/ to spec/DOC/dev/ with a version"
    )
    p.add_argument("document", help="document id, e.g. cds-wg3-01")
    p.add_argument("version", help="the draft's version, e.g. 1.1.0-dev")
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("changelog", help="print the changelog page (tags spec-v*) as markdown")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.add_argument(
        "--unreleased",
        action="store_true",
        help="also list the working tree's changes since the last release",
    )
    p.set_defaults(func=cmd_changelog)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
