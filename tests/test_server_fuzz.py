"""Schemathesis against the reference Server, from our OpenAPI with the strict schemas: every
operation, generated requests (with credentials that pass each operation's authentication),
no 5xx and no response outside its schema. The budget is bounded (``EXAMPLES`` per
operation, derandomized) to keep the run well under two minutes."""

from __future__ import annotations

import copy

import pytest
import schemathesis
from cds_harness import StrictResponses, Walker, credentials_for, fuzz_credentials, live_server
from cdsgen.schemas import SchemaBuilder
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

pytestmark = pytest.mark.xdist_group("reference-server-fuzz")

EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory, spec, openapi):
    """A live server, credentials for every kind of operation, and the strict OpenAPI."""
    with live_server(tmp_path_factory.mktemp("fuzz") / "cds.sqlite3", page_size=20) as url:
        credentials = fuzz_credentials(Walker(url, StrictResponses(spec)))
        api = copy.deepcopy(openapi)
        api["components"]["schemas"] = SchemaBuilder(spec, strict=True).components()
        api["servers"] = [{"url": url}]
        yield url, schemathesis.openapi.from_dict(api), credentials


def _credentials(operation, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    return credentials_for(operation.definition.raw.get("security"), credentials)


def _fuzz(operation, url: str, headers: dict[str, str]) -> list[str]:
    """Run the generated cases of one operation; the failures found, as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call(base_url=url, headers=headers)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except AssertionError as error:  # collect, so one run reports every operation
            failures.append(f"{operation.label}: {str(error)[:800]}")

    run()
    return failures


def test_schemathesis_finds_no_server_errors_or_schema_violations(fuzz_target, spec):
    url, schema, credentials = fuzz_target
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(spec.endpoints)
    failures: list[str] = []
    for operation in operations:
        failures += _fuzz(operation, url, _credentials(operation, credentials))
    assert failures == []
