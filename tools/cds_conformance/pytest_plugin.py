"""pytest plugin (entry point ``pytest11``): ``pytest --cds-url URL`` runs the suite against
a Server and reports one test per check, so a Server team's CI shows conformance next to its
own tests. Without ``--cds-url`` the plugin adds nothing but its options and the
``cds_conformance_report`` fixture.

Credentials come from ``--cds-client-id``/``--cds-client-secret`` (or ``CDS_CLIENT_ID``/
``CDS_CLIENT_SECRET``) where registration is closed; ``--cds-consent reference`` fills a
test Server's consent forms, ``--cds-consent-command CMD`` runs your own hook.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cds-conformance", "CDS conformance suite")
    group.addoption("--cds-url", help="run the CDS conformance suite against this Server")
    group.addoption("--cds-client-id", help="Client Admin client_id (closed registration)")
    group.addoption("--cds-client-secret", help="Client Admin client_secret")
    group.addoption(
        "--cds-consent", choices=["reference", "none"], default="none", help="consent hook"
    )
    group.addoption("--cds-consent-command", help="consent hook command (see the docs)")
    group.addoption("--cds-only", action="append", default=[], help="check id/group pattern")
    group.addoption("--cds-max-requests", type=int, default=5000)
    group.addoption("--cds-rate", type=float, default=20.0, help="requests per second")


def _options(config: pytest.Config) -> Any:
    from cds_conformance.consent import CommandConsent, FormConsent
    from cds_conformance.runner import Options

    consent = None
    if config.getoption("cds_consent_command"):
        consent = CommandConsent(config.getoption("cds_consent_command"))
    elif config.getoption("cds_consent") == "reference":
        consent = FormConsent()
    return Options(
        client_id=config.getoption("cds_client_id"),
        client_secret=config.getoption("cds_client_secret"),
        consent=consent,
        only=list(config.getoption("cds_only")),
        max_requests=config.getoption("cds_max_requests"),
        rate=config.getoption("cds_rate"),
    )


class _Suite:
    """Runs the suite once, on first use, for every check item."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.report: Any = None

    def get(self) -> Any:
        if self.report is None:
            from cds_conformance.api import run_conformance

            self.report = run_conformance(self.config.getoption("cds_url"), _options(self.config))
        return self.report


class ConformanceItem(pytest.Item):
    """One check of the suite as a test: fails on a failed MUST, skips on a skip."""

    def __init__(self, *, suite: _Suite, index: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.suite = suite
        self.index = index

    def runtest(self) -> None:
        report = self.suite.get()
        if report.aborted and self.index >= len(report.outcomes):
            pytest.fail(f"the run stopped early: {report.aborted}", pytrace=False)
        if self.index >= len(report.outcomes):
            pytest.skip("not run")
        outcome = report.outcomes[self.index]
        if outcome.status == "skipped":
            pytest.skip(outcome.message)
        if outcome.status == "failed":
            pytest.fail(
                f"{outcome.check.level} {outcome.check.link}\n{outcome.message}", pytrace=False
            )

    def reportinfo(self) -> tuple[str, int, str]:
        return "cds-conformance", 0, self.name


class ConformanceCollector(pytest.Collector):
    """The suite's checks, known only after running: one item per recorded outcome."""

    def __init__(self, *, suite: _Suite, **kwargs: Any):
        super().__init__(**kwargs)
        self.suite = suite

    def collect(self) -> list[pytest.Item]:
        report = self.suite.get()
        return [
            ConformanceItem.from_parent(self, name=o.check.id, suite=self.suite, index=i)
            for i, o in enumerate(report.outcomes)
        ]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("cds_url"):
        return
    suite = _Suite(config)
    collector = ConformanceCollector.from_parent(session, name="cds-conformance", suite=suite)
    items.extend(collector.collect())


@pytest.fixture(scope="session")
def cds_conformance_report(request: pytest.FixtureRequest) -> Any:
    """The report of a run against ``--cds-url`` (skips when no URL is given)."""
    url = request.config.getoption("cds_url")
    if not url:
        pytest.skip("no --cds-url given")
    return _Suite(request.config).get()
