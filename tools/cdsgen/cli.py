"""The ``cdsgen`` command line: lint, generate, serve, outline, facts, diff, changelog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cdsgen.diagnostics import FORMATS, Diagnostics, Severity, render

#: Diagnostics printed by default; the rest are summarised as "… and N more".
DEFAULT_MAX_DIAGNOSTICS = 200


class UsageError(Exception):
    """A command-line argument that cannot work; reported in one line, exit status 2."""


if TYPE_CHECKING:
    from cdsgen.diff import DiffReport


def _root(args: argparse.Namespace) -> Path:
    return Path(args.spec)


def output_root(args: argparse.Namespace) -> Path:
    """Where ``generate`` writes ``generated/`` and ``site/spec/``.

    ``--out DIR`` when given. Otherwise the current directory when the source folder is its
    ``spec/`` (the usual case: run from the project root). Otherwise the folder holding the
    source folder, but only when it already holds a ``generated/`` tree (an existing project);
    anything else is refused rather than guessed."""
    if args.out is not None:
        return Path(args.out)
    spec = _root(args).resolve()
    cwd = Path.cwd().resolve()
    if spec == cwd / "spec":
        return cwd
    if (spec.parent / "generated").is_dir():
        return spec.parent
    raise UsageError(
        f"cannot tell where outputs of {args.spec} go: run from the folder holding it, "
        "or give --out DIR (the project root that receives generated/ and site/spec/)"
    )


def _print_diagnostics(diags: Diagnostics, args: argparse.Namespace, *, warnings: bool) -> None:
    """Print the (capped) diagnostics: text on standard error, like every other message;
    ``json`` and ``github`` on standard output, where their readers look for them."""
    shown = [d for d in diags.sorted() if warnings or d.severity is Severity.ERROR]
    total = diags.error_count + (diags.warning_count if warnings else 0)
    limit = args.max_diagnostics or None
    fmt = getattr(args, "format", "text")
    stream = sys.stderr if fmt == "text" else sys.stdout
    for line in render(shown, fmt, limit, total):
        print(line, file=stream)


def cmd_lint(args: argparse.Namespace) -> int:
    from cdsgen.lint import lint

    result = lint(_root(args))
    diags = result.diagnostics
    _print_diagnostics(diags, args, warnings=args.warnings)
    errors, warnings = diags.error_count, diags.warning_count
    hint = "" if args.warnings or not warnings else " (--warnings to list them)"
    print(f"{errors} error(s), {warnings} warning(s){hint}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_generate(args: argparse.Namespace) -> int:
    base = output_root(args)  # a usage error before any work starts
    from cdsgen.emit.codegen import PendingCodegen

    # started before the imports below (it imports meanwhile), unless its output is cached
    codegen = PendingCodegen(_root(args))
    from cdsgen import writer
    from cdsgen.generate import TREES, generate

    diags, outputs = generate(_root(args), codegen)
    _print_diagnostics(diags, args, warnings=False)
    if outputs is None:
        print(f"{diags.error_count} error(s) in the source; nothing was written", file=sys.stderr)
        return 1
    if args.check:
        stale = writer.check(base, outputs, TREES)
        for line in stale.lines():
            print(line, file=sys.stderr)
        if not stale.ok:
            print("generated outputs are out of date: run `cdsgen generate`", file=sys.stderr)
            return 1
        print(f"{len(outputs)} generated files are up to date", file=sys.stderr)
        return 0
    touched = writer.write(base, outputs, TREES)
    where = "" if base.resolve() == Path.cwd().resolve() else f" under {base}"
    print(f"{len(outputs)} files generated{where}, {len(touched)} changed", file=sys.stderr)
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


def check_serve_args(args: argparse.Namespace) -> None:
    """Refuse arguments ``serve`` cannot use, before any banner: a database in a missing
    folder or that is not a file, a port that is out of range or already taken."""
    import errno
    import socket

    db = Path(args.db)
    if not db.parent.is_dir():
        raise UsageError(f"--db {args.db}: folder {db.parent} does not exist")
    if db.exists() and not db.is_file():
        raise UsageError(f"--db {args.db}: not a regular file")
    if args.page_size < 1:
        raise UsageError(f"--page-size {args.page_size}: must be at least 1")
    try:
        infos = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {args.host}: cannot be resolved ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {reason}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    check_serve_args(args)
    import uvicorn

    from cdsgen.server import create_app, settle
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
        settle(app),
        host=args.host,
        port=args.port,
        proxy_headers=args.proxy_headers,
        **_logging(args),
    )
    return 0


def _logging(args: argparse.Namespace) -> dict[str, object]:
    """uvicorn's logging options: warnings only, and no access log unless ``--access-log``
    (formatting a line per request that the warning level then drops costs time)."""
    if args.access_log:
        return {"log_level": "info", "access_log": True}
    return {"log_level": "warning", "access_log": False}


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
        **_logging(args),
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


def cmd_conformance(args: argparse.Namespace) -> int:
    from cds_conformance.cli import main

    return main(args)


def cmd_outline(args: argparse.Namespace) -> int:
    from cdsgen.outline import outline_yaml, read_outline

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        sys.stdout.write(outline_yaml(read_outline(path)))
    except UnicodeDecodeError:
        raise UsageError(f"{args.file}: not a UTF-8 text file (a published markdown)") from None
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read: {exc.strerror}") from None
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

    if args.list_rules:
        from cdsgen.diff.rules import DIFF_RULES

        for rule, what in DIFF_RULES.items():
            print(f"{rule:42} {what}")
        return 0
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
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {args.output}: cannot write: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdsgen", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _global_options(parser, suppress=False)
    sub = _Subcommands(parser.add_subparsers(dest="command", required=True))

    p = sub.add_parser("lint", help="check the source; exit 1 on any error")
    p.add_argument("-w", "--warnings", action="store_true", help="also list warnings (errata)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (path:line:col: rule: message, on standard error), json, or github "
        "(GitHub Actions annotations); default: text",
    )
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
    p.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
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
    p.add_argument(
        "--access-log",
        action="store_true",
        help="print one line per request on standard error (default: warnings only)",
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
    p.add_argument(
        "--list-rules", action="store_true", help="print the kinds of change diff reports"
    )
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


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every subcommand accepts, before or after its name (as ruff and buf do).

    The top-level parser holds the real defaults; the subcommands' copies default to
    ``SUPPRESS`` so a value given before the subcommand is not overwritten."""
    real, default = not suppress, argparse.SUPPRESS
    parser.add_argument(
        "--spec", default="spec" if real else default, help="source folder (default: spec)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None if real else default,
        help="project root receiving generated/ and site/spec/ (default: the current "
        "directory when the source is ./spec)",
    )
    parser.add_argument(
        "--max-diagnostics",
        type=_count,
        metavar="N",
        default=DEFAULT_MAX_DIAGNOSTICS if real else default,
        help=f"print at most N problems, then a count (0: all; default {DEFAULT_MAX_DIAGNOSTICS})",
    )


class _Subcommands:
    """``add_subparsers`` whose every subcommand also takes the global options."""

    def __init__(self, action: argparse._SubParsersAction):
        self.action = action

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        p = self.action.add_parser(name, **kwargs)
        group = p.add_argument_group("global options")
        _global_options(group, suppress=True)  # type: ignore[arg-type]
        return p


def _count(text: str) -> int:
    """A number of things: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 0 or more")
    return int(text)


def _port(text: str) -> int:
    """A TCP port number, refused by argparse with a clear message when out of range."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535)")
    return port


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cdsgen")
    except PackageNotFoundError:  # run from a source checkout without installing
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"cdsgen {args.command}: error: {exc}", file=sys.stderr)
        return 2
