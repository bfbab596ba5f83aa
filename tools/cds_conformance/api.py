"""The Python API: ``run_conformance(url, Options(...)) -> Report``."""

from __future__ import annotations

import time

from cds_conformance.groups import GROUPS
from cds_conformance.model import Check, Report
from cds_conformance.runner import Options, Run, now_text
from cds_conformance.transport import BudgetExhausted, ServerTimeout


def run_conformance(url: str, options: Options | None = None) -> Report:
    """Run every check that applies to what the Server at ``url`` advertises.

    The plan comes from the Server: its metadata, authorization server metadata and scope
    descriptions decide which groups and checks run; the rest are reported as skipped with
    the reason. Nothing is deleted; only requests a Client may send are made."""
    run = Run(url, options)
    started, clock = now_text(), time.monotonic()
    try:
        for name, group in GROUPS:
            if run.aborted:
                break
            before = len(run.outcomes)
            try:
                group(run)
            except (ServerTimeout, BudgetExhausted) as exc:  # outside any check: stop cleanly
                run.aborted = str(exc)
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                run.aborted = f"{name}: the Server's answers lack what the plan reads: {exc!r}"
            if run.options.progress is not None:
                run.options.progress(name, run.outcomes[before:], run.aborted is not None)
    finally:
        run.http.close()
    return run.report(started, time.monotonic() - clock)


def catalog() -> list[Check]:
    """Every check the suite knows, in run order (whether a Server's plan includes it
    depends on what the Server advertises)."""
    from types import SimpleNamespace

    from cds_conformance.groups import details, discovery, isolation, listings, registration, tokens
    from cds_conformance.rules import load_rules

    model = SimpleNamespace(rules=load_rules())
    return [
        *discovery.CHECKS,
        *registration.CHECKS,
        *tokens.CHECKS,
        *listings.all_checks(model),  # type: ignore[arg-type]
        *isolation.CHECKS,
        *details.all_checks(model),  # type: ignore[arg-type]
    ]
