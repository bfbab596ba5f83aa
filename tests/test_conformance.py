"""The conformance suite against the reference Server and against deliberately broken
variants of it.

The reference Server (uvicorn on a loopback port) must pass every check that applies, with
none skipped. Each variant wraps the same Server in an ASGI middleware that breaks exactly one
MUST; the suite runs only the check group that must catch it and must fail exactly the
expected check — no other. ``bench/conformance.py`` runs the whole suite over every variant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cds_conformance import CommandConsent, FormConsent, Options, run_conformance
from cds_conformance.consent import ConsentRequest, LoopbackConsent, parse_forms
from cds_conformance.groups.discovery import issuer_identifier
from cds_conformance.report import summary_table, write_html, write_json, write_junit
from cds_conformance.transport import REDACTED
from cds_harness import live_server, serve_app
from conformance_variants import VARIANTS, Mutating, Variant, drop_key, on_json

pytestmark = pytest.mark.xdist_group("conformance")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("conf") / "cds.sqlite3", page_size=50) as url:
        yield url


@pytest.fixture(scope="module")
def reference_report(reference):
    return run_conformance(reference, Options(consent=FormConsent(), rate=0))


@pytest.fixture(scope="module")
def mutating(tmp_path_factory):
    from cdsgen.server import create_app

    app = Mutating(create_app(tmp_path_factory.mktemp("var") / "cds.sqlite3", page_size=50))
    with serve_app(app) as url:
        yield url, app


# -- the reference Server ------------------------------------------------------------------
def test_the_reference_server_passes_every_applicable_check(reference_report):
    report = reference_report
    failed = {o.check.id: o.message for o in report.outcomes if o.status == "failed"}
    assert not failed, summary_table(report)
    assert report.ok
    skipped = {o.check.id: o.message for o in report.outcomes if o.status == "skipped"}
    assert not skipped, skipped
    assert not report.aborted
    assert len(report.outcomes) >= 100
    groups = {o.check.group for o in report.outcomes}
    assert groups == {
        "discovery",
        "scopes",
        "registration",
        "tokens",
        "listings",
        "isolation",
        "details",
    }
    ids = [o.check.id for o in report.outcomes]
    assert len(ids) == len(set(ids)), "check ids are unique"
    for o in report.outcomes:
        assert o.check.level in ("MUST", "SHOULD")
        assert o.check.link.startswith("https://cds-registration.lfenergy.org/specs/")


def test_every_check_anchor_is_a_section_of_its_document(reference_report):
    from cds_conformance.rules import load_rules

    spec = load_rules().spec
    for o in reference_report.outcomes:
        doc = spec.documents[o.check.document]
        assert o.check.anchor in doc.all_anchors(), o.check.id


def test_reports_are_written_and_redact_secrets(reference_report, tmp_path):
    report = reference_report
    write_json(report, tmp_path / "r.json")
    write_junit(report, tmp_path / "r.xml")
    write_html(report, tmp_path / "r.html")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["counts"]["passed"] == sum(o.status == "passed" for o in report.outcomes)
    assert data["requests"] == report.requests > 0
    xml = (tmp_path / "r.xml").read_text()
    assert xml.count("<testcase") == len(report.outcomes)
    page = (tmp_path / "r.html").read_text()
    assert "<h1>CDS conformance report</h1>" in page
    for o in report.outcomes:
        for x in o.exchanges:
            auth = x.request_headers.get("Authorization") or x.request_headers.get("authorization")
            assert auth is None or REDACTED in auth
            assert "client_secret" not in x.response_body or REDACTED in x.response_body


# -- the broken variants ---------------------------------------------------------------------
def test_there_are_enough_variants_on_different_sections():
    assert len(VARIANTS) >= 25
    assert len({v.expected for v in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize(
    ("metadata_url", "issuer"),
    [
        ("https://example.com/.well-known/oauth-authorization-server", "https://example.com"),
        (
            "https://example.com/.well-known/oauth-authorization-server/tenant/1",
            "https://example.com/tenant/1",
        ),
        ("https://example.com/cds-api/v1/clients/c1/oauth-authorization-server", None),
        ("https://example.com/.well-known/oauth-authorization-server-x", None),
    ],
)
def test_the_issuer_identifier_is_read_back_from_the_well_known_url(metadata_url, issuer):
    """RFC 8414 section 3.1 inserts the well-known path between the issuer's origin and its path;
    URLs elsewhere name no issuer."""
    assert issuer_identifier(metadata_url) == issuer


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_a_broken_server_fails_exactly_the_expected_check(mutating, variant: Variant):
    url, app = mutating
    app.activate(variant)
    try:
        report = run_conformance(
            url, Options(consent=FormConsent(), rate=0, only=list(variant.only))
        )
    finally:
        app.activate(None)
    failed = report.failed_ids()
    assert failed == [variant.expected], summary_table(report)
    outcome = report.by_id()[variant.expected]
    assert outcome.check.level == "MUST"
    assert not report.ok
    # the evidence: the exchanges of the failed check, secrets redacted
    for x in outcome.exchanges:
        assert "Bearer " not in str(x.request_headers) or REDACTED in str(x.request_headers)


def test_unknown_fields_and_values_are_information_not_failures(mutating):
    url, app = mutating
    app.activate(Variant("future", "", ("wg3-01.accounts-list.strict",), future_fields))
    try:
        report = run_conformance(url, Options(rate=0, only=["wg3-01.accounts-list.strict"]))
    finally:
        app.activate(None)
    [outcome] = report.outcomes
    assert outcome.status == "passed", outcome.message
    assert any("x_future_field" in n for n in outcome.notes), outcome.notes
    assert any("future_status" in n for n in outcome.notes), outcome.notes


def future_fields(scope, status, headers, body):
    if scope["path"].endswith("/accounts") and status == 200:
        doc = json.loads(body)
        for a in doc["accounts"]:
            a["x_future_field"] = {"nested": True}
            a["account_status"] = "future_status"
        return status, headers, json.dumps(doc).encode()
    return status, headers, body


# -- safety and the command line -------------------------------------------------------------
def test_the_request_budget_stops_the_run_cleanly(reference):
    report = run_conformance(reference, Options(rate=0, max_requests=5))
    assert report.requests == 5
    assert report.aborted and "budget" in report.aborted
    assert not report.ok


def test_an_unreachable_server_is_a_clear_failure_not_a_traceback():
    report = run_conformance("http://127.0.0.1:9", Options(rate=0, timeout=2))
    fetch = report.by_id()["wg1-01.metadata.fetch"]
    assert fetch.status == "failed" and "127.0.0.1:9" in fetch.message
    assert not report.ok
    # a failed step is not tried again by every check that needs it: no wait per check
    assert report.requests <= 3


def test_without_a_consent_hook_customer_consent_checks_say_why_they_skip(reference):
    report = run_conformance(reference, Options(rate=0, only=["wg1-02.token.authorization-code"]))
    [outcome] = report.outcomes
    assert outcome.status == "skipped" and "consent hook" in outcome.message


def test_the_cli_writes_reports_and_exits_by_the_musts(reference, mutating, tmp_path):
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "cdsgen", "conformance", "--rate", "0", "--only", "discovery"]
    ok = subprocess.run(
        [*cmd, reference, "--json", str(out), "--junit", str(tmp_path / "j.xml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "discovery" in ok.stderr and "CONFORMS" in ok.stdout
    assert json.loads(out.read_text())["ok"] is True
    url, app = mutating
    app.activate(VARIANTS[0])  # the metadata loses a REQUIRED field
    try:
        bad = subprocess.run(
            [*cmd, url, "--html", str(tmp_path / "r.html")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        app.activate(None)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"FAILED MUST {VARIANTS[0].expected}" in bad.stdout and "DOES NOT CONFORM" in bad.stdout
    assert VARIANTS[0].expected in (tmp_path / "r.html").read_text()
    wrong = subprocess.run(
        [sys.executable, "-m", "cdsgen", "conformance", "not-a-url"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "not an http(s) URL" in wrong.stderr
    assert "Traceback" not in wrong.stderr


# -- the consent hook against the consent contract ---------------------------------------------
SIGN_IN_PAGE = """<form method="post" action="/signin">
<input type="hidden" name="csrf_token" value="t0k">
<input name="username"><input type="password" name="password">
<button type="submit">Sign in</button></form>"""
CONSENT_PAGE = """<form method="post" action="/consent">
<input type="hidden" name="csrf_token" value="t1k">
<label><input type="checkbox" name="pick" value="acct-1"> one</label>
<label><input type="checkbox" name="pick" value="acct-2"> two</label>
<select name="duration"><option value="P1Y">a year</option>
<option value="P2Y" selected>two years</option></select>
<input type="radio" name="share" value="all" checked><input type="radio" name="share" value="some">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button></form>"""


def test_the_reference_consent_hook_signs_in_and_approves_per_the_contract(monkeypatch, tmp_path):
    """The two-page form of the consent contract (sign-in, then consent, CSRF tokens bound to
    a cookie), served by a small stand-in, reaches the redirect URI with a code."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    posted: list[dict] = []

    async def authorize(request: Request):
        response = HTMLResponse(SIGN_IN_PAGE)
        response.set_cookie("session", "s1")
        return response

    async def signin(request: Request):
        form = await request.form()
        posted.append({k: form.getlist(k) for k in form})
        assert request.cookies.get("session") == "s1"
        return RedirectResponse("/consent", status_code=303)

    async def consent(request: Request):
        if request.method == "GET":
            return HTMLResponse(CONSENT_PAGE)
        form = await request.form()
        posted.append({k: form.getlist(k) for k in form})
        return RedirectResponse("http://client.example/cb?code=abc&state=s", status_code=303)

    app = Starlette(
        routes=[
            Route("/authorize", authorize),
            Route("/signin", signin, methods=["POST"]),
            Route("/consent", consent, methods=["GET", "POST"]),
        ]
    )
    with serve_app(app) as url:
        landed = FormConsent()(
            ConsentRequest(f"{url}/authorize", "http://client.example/cb", "cds_accounts_1", 1)
        )
    assert landed == "http://client.example/cb?code=abc&state=s"
    sign_in, approve = posted
    assert sign_in == {"csrf_token": ["t0k"], "username": ["C-100567"], "password": ["sandbox"]}
    assert approve == {
        "csrf_token": ["t1k"],
        "duration": ["P2Y"],
        "share": ["all"],
        "pick": ["acct-1", "acct-2"],
        "decision": ["approve"],
    }
    assert [f.action for f in parse_forms(CONSENT_PAGE)] == ["/consent"]


# -- packaging and the pytest plugin ---------------------------------------------------------
def test_the_package_ships_the_whole_source_it_checks_against(root):
    """``cds_conformance/spec`` is the repository's ``spec/``, and the package-data patterns
    of pyproject.toml take every source file into the wheel."""
    import fnmatch
    import tomllib

    from cds_conformance.rules import SPEC_DIR

    assert SPEC_DIR.resolve() == (root / "spec").resolve()
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["cds_conformance"]
    files = [p for p in (root / "spec").rglob("*") if p.suffix in (".yaml", ".json")]
    assert files
    for f in files:
        rel = "spec/" + f.relative_to(root / "spec").as_posix()
        assert any(
            fnmatch.fnmatchcase(rel, p) and rel.count("/") == p.count("/") for p in patterns
        ), rel
    entry = config["project"]["entry-points"]["pytest11"]["cds_conformance"]
    assert entry == "cds_conformance.pytest_plugin"


def test_the_pytest_plugin_reports_one_test_per_check(reference, tmp_path):
    junit = tmp_path / "plugin.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "cds_conformance.pytest_plugin",
            "--rootdir",
            str(tmp_path),
            "--cds-url",
            reference,
            "--cds-only",
            "discovery",
            "--cds-only",
            "wg1-02.token.authorization-code",
            "--cds-rate",
            "0",
            f"--junitxml={junit}",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        # the plugin by name, whether or not this checkout's entry points are installed
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert "8 passed, 1 skipped" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0
    xml = junit.read_text()
    assert 'name="wg1-01.metadata.strict"' in xml and "consent hook" in xml


# -- credentials and consent hooks -------------------------------------------------------------
def test_closed_registration_runs_on_given_client_credentials(mutating):
    """Without a registration endpoint the suite uses the Client Admin credentials it is
    given, and says why it skips the registration check."""
    import httpx

    url, app = mutating
    oauth = httpx.get(
        httpx.get(f"{url}/.well-known/cds-server-metadata.json").json()["oauth_metadata"]
    ).json()
    reg = httpx.post(
        oauth["registration_endpoint"],
        json={"scope": "cds_client_admin cds_query_accounts_1", "client_name": "given"},
    ).json()
    closed = Variant(
        "closed-registration",
        "",
        (),
        on_json("/.well-known/oauth-authorization-server", drop_key("registration_endpoint")),
    )
    app.activate(closed)
    try:
        report = run_conformance(
            url,
            Options(
                client_id=reg["client_id"],
                client_secret=reg["client_secret"],
                rate=0,
                only=["registration", "wg3-01.accounts-list.strict"],
            ),
        )
    finally:
        app.activate(None)
    by_id = report.by_id()
    assert by_id["wg1-02.registration.response"].status == "skipped"
    assert "not open" in by_id["wg1-02.registration.response"].message
    assert by_id["wg3-01.accounts-list.strict"].status == "passed", summary_table(report)
    assert report.ok, summary_table(report)


def test_a_consent_command_gets_the_code(reference, tmp_path):
    script = tmp_path / "approve.py"
    script.write_text(
        "import os\n"
        "from cds_conformance import ConsentRequest, FormConsent\n"
        "print(FormConsent()(ConsentRequest(os.environ['CDS_AUTHORIZATION_URL'],"
        " os.environ['CDS_REDIRECT_URI'], os.environ['CDS_SCOPE'],"
        " int(os.environ['CDS_GRANT_INDEX']))))\n"
    )
    report = run_conformance(
        reference,
        Options(
            consent=CommandConsent(f"{sys.executable} {script}"),
            rate=0,
            only=["wg1-02.token.authorization-code"],
        ),
    )
    assert [o.status for o in report.outcomes] == ["passed"], summary_table(report)
    failing = run_conformance(
        reference,
        Options(
            consent=CommandConsent(f"{sys.executable} -c 'raise SystemExit(3)'"),
            rate=0,
            only=["wg1-02.token.authorization-code"],
        ),
    )
    [outcome] = failing.outcomes
    assert outcome.status == "skipped" and "exited 3" in outcome.message


def test_interactive_consent_listens_on_a_loopback_redirect_uri(reference, capsys):
    """--interactive: the suite adds its loopback redirect URI to its own Client Object,
    prints the authorization URL and takes the code from the browser's return. A thread
    plays the person at the browser."""
    import threading

    import httpx

    loopback = LoopbackConsent(timeout=60)

    def person_at_browser(request: ConsentRequest) -> str:
        landed = FormConsent()(request)  # stops at the redirect URI, like a browser would not
        threading.Thread(target=httpx.get, args=(landed,), daemon=True).start()
        return loopback(request)

    try:
        report = run_conformance(
            reference,
            Options(
                consent=person_at_browser,
                redirect_uri=loopback.redirect_uri,
                rate=0,
                only=["wg1-02.token.authorization-code", "wg1-02.token.code-reuse"],
            ),
        )
    finally:
        loopback.close()
    assert [o.status for o in report.outcomes] == ["passed", "passed"], summary_table(report)
    assert loopback.redirect_uri.startswith("http://127.0.0.1:")
    assert "Open this URL" in capsys.readouterr().err


def test_a_server_that_does_not_answer_in_time_fails_with_a_clear_message():
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def slow(request):
        await asyncio.sleep(3)
        return JSONResponse({})

    app = Starlette(routes=[Route("/.well-known/cds-server-metadata.json", slow)])
    with serve_app(app) as url:
        report = run_conformance(url, Options(rate=0, timeout=0.5, only=["discovery"]))
    fetch = report.by_id()["wg1-01.metadata.fetch"]
    assert fetch.status == "failed"
    assert "no answer within 0.5s" in fetch.message
    assert fetch.exchanges and fetch.exchanges[0].error


def test_the_rate_limit_spaces_requests(reference):
    import time

    started = time.monotonic()
    report = run_conformance(reference, Options(rate=10, max_requests=6))
    assert report.requests == 6
    assert time.monotonic() - started >= 0.5  # six requests at ten per second


def test_evidence_never_holds_secrets_tokens_or_codes():
    from cds_conformance.model import Exchange
    from cds_conformance.transport import redact

    raw = Exchange(
        method="POST",
        url="https://s.example/cb?code=abc123&state=st",
        request_headers={"Authorization": "Basic c2VjcmV0", "Cookie": "session=s1"},
        request_body={"grant_type": "authorization_code", "code": "abc123", "code_verifier": "v"},
        status=200,
        response_headers={
            "content-type": "application/json",
            "set-cookie": "session=s2",
            "location": "https://c.example/cb?code=xyz789&state=st",
        },
        response_body=json.dumps(
            {"access_token": "at-1", "refresh_token": "rt-1", "client_secret": "cs-1", "n": 1}
        ),
        elapsed_ms=1.0,
    )
    shown = redact(raw)
    text = json.dumps(shown.to_json())
    for secret in ("abc123", "c2VjcmV0", "session=s", "xyz789", "at-1", "rt-1", "cs-1", '"v"'):
        assert secret not in text, secret
    assert "state=st" in shown.url and '"n": 1' in shown.response_body
    assert shown.request_headers["Authorization"] == f"Basic {REDACTED}"


def test_a_429_is_waited_out_as_retry_after_asks():
    import httpx
    from cds_conformance.transport import Transport

    meta = "http://cds.example/.well-known/cds-server-metadata.json"
    calls: list[int] = []

    def once_busy(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.2"})
        return httpx.Response(200, json={"ok": True})

    transport = Transport(rate=0)
    transport.http = httpx.Client(transport=httpx.MockTransport(once_busy))
    response = transport.get(meta)
    assert response.status_code == 200 and len(calls) == 2
    assert transport.sent == 2


def test_a_server_that_stops_answering_stops_the_run():
    import httpx
    from cds_conformance.transport import ServerTimeout, Transport

    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    transport = Transport(rate=0, timeout=1)
    transport.http = httpx.Client(transport=httpx.MockTransport(silent))
    fatal = []
    for path in ("a", "b", "c"):
        with pytest.raises(ServerTimeout) as caught:
            transport.get(f"http://cds.example/{path}")
        fatal.append(caught.value.fatal)
    assert fatal == [False, False, True]
    assert "in a row went unanswered" in str(caught.value)


def test_the_catalog_names_every_check_a_run_can_make_once(reference_report):
    from cds_conformance.api import catalog

    ids = [c.id for c in catalog()]
    assert len(ids) == len(set(ids))
    assert {o.check.id for o in reference_report.outcomes} <= set(ids)
    listed = subprocess.run(
        [sys.executable, "-m", "cdsgen", "conformance", "--list-checks"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ids
