"""Conformance suite: test a live CDS Server against the documents.

    from cds_conformance import Options, run_conformance, FormConsent
    report = run_conformance("https://server.example", Options(consent=FormConsent()))
    assert report.ok, report.failed_ids()

The same suite runs as ``cdsgen conformance URL`` and as a pytest plugin
(``pytest --cds-url URL``).
"""

from __future__ import annotations

from cds_conformance.api import run_conformance
from cds_conformance.consent import (
    CommandConsent,
    ConsentError,
    ConsentRequest,
    FormConsent,
    LoopbackConsent,
)
from cds_conformance.model import Check, Outcome, Report
from cds_conformance.runner import Options

__all__ = [
    "Check",
    "CommandConsent",
    "ConsentError",
    "ConsentRequest",
    "FormConsent",
    "LoopbackConsent",
    "Options",
    "Outcome",
    "Report",
    "run_conformance",
]
