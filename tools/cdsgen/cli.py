"""The ``cdsgen`` command line: lint, generate, serve, outline, facts, diff, changelog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdsgen.diagnostics import Severity


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
    from cdsgen import writer
    from cdsgen.generate import TREES, generate, project_root

    diags, outputs = generate(_root(args))
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
    try:
        app = create_app(args.db, page_size=args.page_size, public_url=public_url)
    except ValueError as exc:  # KeyMismatch, or an unreadable key file
        print(f"cdsgen serve: {exc}", file=sys.stderr)
        return 2
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


def cmd_conformance(args: argparse.Namespace) -> int:
    from cds_conformance.cli import main

    return main(args)


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
    import json

    from cdsgen.diff import compare, render_text
    from cdsgen.history import HistoryError, load_folder, load_source

    spec_dir = _root(args)
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
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(report))
    return 1 if report.breaking else 0


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
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "conformance",
        help="test a live CDS Server against the documents; exit 0 only when no MUST failed",
    )
    from cds_conformance.cli import add_arguments as add_conformance_arguments

    add_conformance_arguments(p)
    p.set_defaults(func=cmd_conformance)

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
        description="OLD and NEW are source folders or git refs (the spec/ tree at that commit); "
        "NEW defaults to the working tree. Each change is classified as breaking, compatible "
        "or informational for Clients and for Servers.",
    )
    p.add_argument("old", nargs="?", help="git ref or source folder to compare from")
    p.add_argument("new", nargs="?", help="git ref or source folder to compare to (default: spec)")
    p.add_argument("--against", metavar="REF", help="compare the working tree against REF")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_diff)

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
