"""Schemathesis, as its own command line runs it, against the reference Server: every
operation of the generated OpenAPI (with the strict schemas), every phase (examples,
coverage, fuzzing, and stateful sequences that follow the OpenAPI ``links``), positive and
negative data, with credentials that pass each operation's authentication
(``schemathesis_hooks.py``). Judged by three checks: no server error, no response outside
its schema, no status code the operation does not document. The budget is bounded
(``MAX_EXAMPLES`` per operation, deterministic generation, one worker)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cds_harness import StrictResponses, Walker, fuzz_credentials, live_server
from cdsgen.schemas import SchemaBuilder

pytestmark = pytest.mark.xdist_group("reference-server-schemathesis")

MAX_EXAMPLES = 6
STATEFUL_EXAMPLES = 15
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
HERE = Path(__file__).parent


def _st(schema: Path, url: str, phases: str, examples: int, env: dict[str, str]) -> str:
    """One ``st run``; its output, after asserting that it found nothing."""
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            str(schema),
            "--url",
            url,
            "--phases",
            phases,
            "--checks",
            CHECKS,
            "--max-examples",
            str(examples),
            "--generation-deterministic",
            "--workers",
            "1",
            "--no-color",
        ],
        env=env,
        cwd=schema.parent,  # its cache (.schemathesis/) stays out of the repository
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "issues found" not in output.replace("No issues found", ""), output[-6000:]
    return output


def test_schemathesis_every_phase_finds_nothing(tmp_path, spec, openapi):
    """Stateful sequences run first, on fresh credentials: the other phases legitimately
    expire the registration's secrets (a Credential's ``client_secret_expires_at`` moved to
    the past revokes its tokens, CDS-WG1-02 §7.6), after which no link could be followed."""
    with live_server(tmp_path / "cds.sqlite3", page_size=20) as url:
        w = Walker(url, StrictResponses(spec))
        api = copy.deepcopy(openapi)
        api["components"]["schemas"] = SchemaBuilder(spec, strict=True).components()
        api["servers"] = [{"url": url}]
        schema = tmp_path / "cds.openapi.json"
        schema.write_text(json.dumps(api), encoding="utf-8")
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        env["CDS_FUZZ_CREDENTIALS"] = json.dumps(fuzz_credentials(w))
        stateful = _st(schema, url, "stateful", STATEFUL_EXAMPLES, env)
        env["CDS_FUZZ_CREDENTIALS"] = json.dumps(fuzz_credentials(w))
        others = _st(schema, url, "examples,coverage,fuzzing", MAX_EXAMPLES, env)
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", stateful)
    assert links and int(links[1]) >= 2, stateful[-3000:]
    assert int(links[2]) >= len(api_links(openapi)), stateful[-3000:]
    for phase in ("Examples", "Coverage", "Fuzzing"):
        assert re.search(rf"✅ {phase}\b", others), others[-3000:]
    tested = re.search(r"Tested: (\d+)", others)
    assert tested and int(tested[1]) == len(spec.endpoints), others[-3000:]


def api_links(openapi: dict) -> list[str]:
    """Every link the OpenAPI declares (source operation → target operation)."""
    return [
        f"{op['operationId']} → {link['operationId']}"
        for item in openapi["paths"].values()
        for op in item.values()
        for resp in op["responses"].values()
        for link in resp.get("links", {}).values()
    ]


def test_every_link_names_a_real_operation_and_its_path_parameter(openapi):
    """Create → get and list → get links exist, and each fills exactly the target's path
    parameters from a response body pointer."""
    operations = {
        op["operationId"]: (path, op)
        for path, item in openapi["paths"].items()
        for op in item.values()
    }
    links = api_links(openapi)
    for wanted in (
        "createCredential → getCredential",
        "listClients → getClient",
        "createMessage → getMessage",
        "listGrants → getGrant",
    ):
        assert wanted in links
    for item in openapi["paths"].values():
        for op in item.values():
            for resp in op["responses"].values():
                for link in resp.get("links", {}).values():
                    path, target = operations[link["operationId"]]
                    params = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) == params, link
                    assert all(
                        v.startswith("$response.body#/") for v in link["parameters"].values()
                    )
