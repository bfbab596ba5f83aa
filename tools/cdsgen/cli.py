"""The ``cdsgen`` command line: lint, generate, outline (and serve, diff as they land)."""

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
    shown = [d for d in result.diagnostics.sorted() if args.warnings or d.severity is Severity.ERROR]
    for d in shown:
        print(d)
    errors, warnings = len(result.diagnostics.errors), len(result.diagnostics.warnings)
    hint = "" if args.warnings or not warnings else " (--warnings to list them)"
    print(f"{errors} error(s), {warnings} warning(s){hint}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_generate(args: argparse.Namespace) -> int:
    from cdsgen import writer
    from cdsgen.generate import TREES, build_outputs, project_root
    from cdsgen.lint import lint

    result = lint(_root(args))
    for d in result.diagnostics.sorted():
        if d.severity is Severity.ERROR:
            print(d, file=sys.stderr)
    if not result.ok:
        print(f"{len(result.diagnostics.errors)} error(s) in the source; nothing was written", file=sys.stderr)
        return 1
    outputs = build_outputs(result.spec)
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


def cmd_outline(args: argparse.Namespace) -> int:
    from cdsgen.outline import outline_yaml, read_outline

    sys.stdout.write(outline_yaml(read_outline(Path(args.file))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdsgen", description=__doc__)
    parser.add_argument("--spec", default="spec", help="source folder (default: spec)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lint", help="check the source; exit 1 on any error")
    p.add_argument("-w", "--warnings", action="store_true", help="also list warnings (errata)")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("generate", help="regenerate every artefact from the source")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any output is stale")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("outline", help="print the outline of a published document as YAML")
    p.add_argument("file", help="published markdown, e.g. ../shared/reference/cds-wg1-01.md")
    p.set_defaults(func=cmd_outline)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
