"""``cdsgen conformance URL``: options, the live progress lines, the reports, the exit code
(0 only when no MUST failed; 2 when the run could not start)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cds_conformance.model import Outcome


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", nargs="?", help="the Server's base URL (where /.well-known/… lives)")
    p.add_argument(
        "--list-checks", action="store_true", help="list every check (id, level, section) and exit"
    )
    p.add_argument("--client-id", help="Client Admin client_id where registration is closed")
    p.add_argument("--client-secret", help="its secret (or set CDS_CLIENT_ID / CDS_CLIENT_SECRET)")
    consent = p.add_mutually_exclusive_group()
    consent.add_argument(
        "--consent",
        choices=["reference"],
        help="fill a test Server's consent forms (reference Server consent contract)",
    )
    consent.add_argument(
        "--consent-command",
        metavar="CMD",
        help="run CMD for each consent; it gets CDS_AUTHORIZATION_URL, CDS_REDIRECT_URI, "
        "CDS_SCOPE, CDS_GRANT_INDEX and prints the redirect URL with the code",
    )
    consent.add_argument(
        "--interactive",
        action="store_true",
        help="print each authorization URL and wait on a loopback redirect URI",
    )
    p.add_argument("--redirect-port", type=int, default=0, help="loopback port for --interactive")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only checks whose id or group matches (fnmatch; repeatable)",
    )
    p.add_argument("--max-requests", type=int, default=5000, help="request budget (5000)")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second (20; 0: no limit)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    p.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    from cds_conformance.api import run_conformance
    from cds_conformance.consent import CommandConsent, FormConsent, LoopbackConsent
    from cds_conformance.report import (
        progress_line,
        summary_table,
        write_html,
        write_json,
        write_junit,
    )
    from cds_conformance.rules import SpecUnavailable
    from cds_conformance.runner import Options

    if args.list_checks:
        from cds_conformance.api import catalog

        for check in catalog():
            print(f"{check.id:<48} {check.level:<6} {check.section:<52} {check.title}")
        return 0
    if not args.url or not args.url.startswith(("http://", "https://")):
        given = repr(args.url) if args.url else "no URL"
        print(f"cdsgen conformance: {given} is not an http(s) URL", file=sys.stderr)
        return 2
    consent = None
    loopback = None
    if args.consent == "reference":
        consent = FormConsent()
    elif args.consent_command:
        consent = CommandConsent(args.consent_command)
    elif args.interactive:
        consent = loopback = LoopbackConsent(port=args.redirect_port)

    live = not args.quiet and sys.stderr.isatty()
    current: list[Outcome] = []

    def on_outcome(outcome: Outcome) -> None:
        """Redraw the group's line after each check, on a terminal."""
        if current and current[-1].check.group != outcome.check.group:
            current.clear()
        current.append(outcome)
        if live:
            line = progress_line(outcome.check.group, current, False)
            sys.stderr.write("\r\033[K" + line)
            sys.stderr.flush()

    def progress(group: str, outcomes: list[Outcome], aborted: bool) -> None:
        current.clear()
        if not args.quiet:
            prefix = "\r\033[K" if live else ""
            print(prefix + progress_line(group, outcomes, aborted), file=sys.stderr, flush=True)

    options = Options(
        client_id=args.client_id or os.environ.get("CDS_CLIENT_ID"),
        client_secret=args.client_secret or os.environ.get("CDS_CLIENT_SECRET"),
        consent=consent,
        redirect_uri=loopback.redirect_uri if loopback else None,
        only=args.only,
        max_requests=args.max_requests,
        rate=args.rate,
        timeout=args.timeout,
        verify_tls=not args.insecure,
        progress=progress,
        on_outcome=on_outcome,
    )
    try:
        report = run_conformance(args.url, options)
    except SpecUnavailable as exc:
        print(f"cdsgen conformance: {exc}", file=sys.stderr)
        return 2
    finally:
        if loopback is not None:
            loopback.close()
    print(summary_table(report))
    for path, write in (
        (args.junit, write_junit),
        (args.json, write_json),
        (args.html, write_html),
    ):
        if path is not None:
            try:
                write(report, path)
            except OSError as exc:
                print(f"cdsgen conformance: cannot write {path}: {exc}", file=sys.stderr)
                return 2
    return 0 if report.ok else 1
