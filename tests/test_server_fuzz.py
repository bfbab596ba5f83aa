"""Schemathesis against the reference Server, from our OpenAPI with the strict schemas: every
operation, generated requests (with credentials that pass each operation's authentication),
no 5xx and no response outside its schema. The budget is bounded (``EXAMPLES`` per
operation, derandomized) to keep the run well under two minutes."""

from __future__ import annotations

import copy
import json

import pytest
import schemathesis
from cds_harness import StrictResponses, Walker, basic, bearer, live_server
from cdsgen.emit.schemas import SchemaBuilder
from cdsgen.server.catalog import SCOPES
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

pytestmark = pytest.mark.xdist_group("reference-server-fuzz")

EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory, spec, openapi):
    """A live server, credentials for every kind of operation, and the strict OpenAPI."""
    with live_server(tmp_path_factory.mktemp("fuzz") / "cds.sqlite3", page_size=20) as url:
        w = Walker(url, StrictResponses(spec))
        w.register([s for s in SCOPES if s != "cds_client_admin"])
        direct = [s for s in SCOPES if SCOPES[s].category == "direct_access"]
        data = w.data_token(direct[0], scope=" ".join(direct))["access_token"]
        grants = w.admin("listGrants", "GET", w.oauth["cds_grants_api"]).json()["grants"]
        spf_client = w.client_with("cds_server_provided_files_1")
        spf_grant = next(g for g in grants if g["client_id"] == spf_client["client_id"])
        admin_client = w.client_with("cds_grant_admin_1")
        details = [
            {
                "type": "cds_grant_admin_1",
                "grant_id": spf_grant["grant_id"],
                "client_id": spf_client["client_id"],
            }
        ]
        files = w.call(
            "requestToken",
            "POST",
            w.client_oauth(admin_client)["token_endpoint"],
            data={"grant_type": "client_credentials", "authorization_details": json.dumps(details)},
            headers=basic(admin_client["client_id"], w.secret_of(admin_client["client_id"])),
        ).json()["access_token"]
        api = copy.deepcopy(openapi)
        api["components"]["schemas"] = SchemaBuilder(spec, strict=True).components()
        api["servers"] = [{"url": url}]
        credentials = {
            "admin": bearer(w.admin_token),
            "data": bearer(data),
            "files": bearer(files),
            "basic": basic(w.registration["client_id"], w.registration["client_secret"]),
        }
        yield url, schemathesis.openapi.from_dict(api), credentials


def _credentials(operation, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    security = operation.definition.raw.get("security")
    if security is None or security == []:
        return {}
    if any("clientBasic" in s for s in security):
        return credentials["basic"]
    scopes = {scope for s in security for scope in s.get("oauth2", [])}
    if "cds_client_admin" in scopes:
        return credentials["admin"]
    if "cds_server_provided_files" in scopes:
        return credentials["files"]
    return credentials["data"]


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
