"""The ``cdsgen`` command line: lint, generate, serve, outline, diff, changelog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdsgen.diagnostics import FORMATS, Diagnostics, Severity, render

#: Diagnostics printed by default; the rest are summarised as "… and N more".
DEFAULT_MAX_DIAGNOSTICS = 200


class UsageError(Exception):
    """A command-line argument that cannot work; reported in one line, exit status 2."""


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
    from cdsgen import writer
    from cdsgen.generate import TREES, generate

    base = output_root(args)
    diags, outputs = generate(_root(args))
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

    from cdsgen.server import create_app

    app = create_app(args.db, page_size=args.page_size)
    where = f"http://{args.host}:{args.port}/"
    print(f"cdsgen reference Server on {where} (database {args.db})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=True, log_level="warning")
    return 0


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
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("outline", help="print the outline of a published document as YAML")
    p.add_argument("file", help="published markdown, e.g. ../shared/reference/cds-wg1-01.md")
    p.set_defaults(func=cmd_outline)

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
