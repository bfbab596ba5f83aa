"""Conformance suite: test a live CDS Server against the documents.

    from cds_conformance import Options, run_conformance, FormConsent
    report = run_conformance("https://server.example", Options(consent=FormConsent()))
    assert report.ok, report.failed_ids()

The same suite runs as ``cdsgen conformance URL`` and as a pytest plugin
(``pytest --cds-url URL``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Public name -> module; imported on first use, so that ``cdsgen`` can offer the
#: ``conformance`` subcommand without loading the suite for every other command.
_EXPORTS = {
    "run_conformance": "cds_conformance.api",
    "CommandConsent": "cds_conformance.consent",
    "ConsentError": "cds_conformance.consent",
    "ConsentRequest": "cds_conformance.consent",
    "FormConsent": "cds_conformance.consent",
    "LoopbackConsent": "cds_conformance.consent",
    "Check": "cds_conformance.model",
    "Outcome": "cds_conformance.model",
    "Report": "cds_conformance.model",
    "Options": "cds_conformance.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cds_conformance' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
