"""Attacks on the reference Server, one per point of the security review (issue 15), each
asserting the refused outcome: consent bound to a signed-in Customer with CSRF protection,
URLs that never follow the Host header, limits before authentication, no 500 from client
input, token hygiene (RFC 6749, RFC 9700), strict input, HTTP details and no reference to
data a Grant does not cover."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cds_harness import (
    StrictResponses,
    Walker,
    approve_consent,
    basic,
    bearer,
    pkce,
    serve_app,
)
from cdsgen.server import create_app
from cdsgen.server.ratelimit import UNLIMITED, Limits, Rate

pytestmark = pytest.mark.xdist_group("reference-server-security")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A live reference Server without rate limits: ``(url, backend, db path)``."""
    db = tmp_path_factory.mktemp("security") / "cds.sqlite3"
    app = create_app(db, limits=UNLIMITED)
    with serve_app(app) as url:
        yield url, app.app.state.backend, db


@pytest.fixture(scope="module")
def walker(served, spec):
    w = Walker(served[0], StrictResponses(spec))
    w.register(["cds_usage_1", "cds_query_usage_1", "cds_accounts_1"])
    return w


def _ask_authorization(
    w: Walker, scope: str = "cds_accounts_1", **extra: str
) -> tuple[httpx.Response, str, dict]:
    """An authorization request: ``(its answer, code verifier, client)``."""
    client = w.client_with(scope)
    oauth = w.client_oauth(client)
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "scope": scope,
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    r = w.call("authorize", "GET", oauth["authorization_endpoint"], params=params)
    return r, verifier, {**client, "oauth": oauth}


def _authorize(w: Walker, scope: str = "cds_accounts_1", **extra: str) -> tuple[str, str, dict]:
    """A pending authorization request: ``(consent page URL, code verifier, client)``."""
    r, verifier, client = _ask_authorization(w, scope, **extra)
    assert r.status_code == 302, r.text
    return r.headers["location"], verifier, client


def _code_token(w: Walker, client: dict, code: str, verifier: str, **extra: str) -> httpx.Response:
    return w.http.post(
        client["oauth"]["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            **extra,
        },
        headers=basic(client["client_id"], w.secret_of(client["client_id"])),
    )


def _code(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


# -- consent: sign-in, binding to the Customer, CSRF, framing ---------------------------------
def test_a_client_posting_the_consent_form_itself_gets_no_grant(walker):
    url, _, _ = _authorize(walker)
    forged = walker.http.post(url, data={"decision": "approve", "pick": ["acct-res-01"]})
    assert forged.status_code == 403 and "location" not in forged.headers
    with httpx.Client() as browser:  # with the page's cookie and token, but nobody signed in
        page = browser.get(url)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        unsigned = browser.post(
            url, data={"csrf_token": token, "decision": "approve", "pick": ["acct-res-01"]}
        )
        assert unsigned.status_code == 401 and "location" not in unsigned.headers


def test_the_csrf_token_is_bound_to_the_browser_cookie(walker):
    url, _, _ = _authorize(walker)
    with httpx.Client() as victim, httpx.Client() as attacker:
        token = victim.get(url).text.split('name="csrf_token" value="')[1].split('"')[0]
        attacker.get(url)  # a cookie of its own, not the victim's
        stolen = attacker.post(
            url,
            data={
                "csrf_token": token,
                "username": "C-100234",
                "password": "sandbox",
                "decision": "approve",
                "pick": ["acct-res-01"],
            },
        )
        assert stolen.status_code == 403 and "location" not in stolen.headers


def test_wrong_passwords_are_refused(walker):
    url, _, _ = _authorize(walker)
    with httpx.Client() as browser:
        page = browser.get(url)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        for username, password in (("C-100234", "guess"), ("C-999999", "sandbox")):
            r = browser.post(
                url,
                data={
                    "csrf_token": token,
                    "username": username,
                    "password": password,
                    "decision": "approve",
                    "pick": ["acct-res-01"],
                },
            )
            assert r.status_code == 401 and "location" not in r.headers


def test_the_consent_form_offers_and_accepts_only_the_signed_in_customers_data(walker):
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        foreign = approve_consent(browser, url, "C-100234", ["acct-res-02"])
        assert foreign.status_code == 403 and "location" not in foreign.headers
        page = browser.get(url)
        assert 'value="acct-res-01"' in page.text
        assert "acct-res-02" not in page.text and "acct-com-01" not in page.text
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        code = _code(approve_consent(browser, url, "C-100234", ["acct-res-01"]))
    token = _code_token(walker, client, code, verifier).json()["access_token"]
    accounts = walker.http.get(
        f"{walker.base}/cds-customerdata-api/v1/accounts", headers=bearer(token)
    ).json()["accounts"]
    assert [a["cds_account_id"] for a in accounts] == ["acct-res-01"]


def test_consent_pages_may_not_be_framed(walker):
    url, _, _ = _authorize(walker)
    page = walker.http.get(url)
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_the_sandbox_credentials_are_on_the_pages_help(walker):
    url, _, _ = _authorize(walker)
    page = walker.http.get(url).text
    assert 'id="help"' in page and "C-100234" in page and "<code>sandbox</code>" in page


# -- public URL ----------------------------------------------------------------------------------
def test_a_forged_host_header_moves_no_url(served, walker):
    url, _, _ = served
    evil = {"Host": "evil.example.com", "X-Forwarded-Proto": "https"}
    meta = httpx.get(f"{url}/.well-known/oauth-authorization-server", headers=evil).json()
    assert meta["issuer"] == url and "evil" not in json.dumps(meta)
    client = walker.client_with("cds_accounts_1")
    _, challenge = pkce()
    r = httpx.get(
        client_oauth_endpoint(walker, client),
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        headers=evil,
    )
    assert r.status_code == 302 and r.headers["location"].startswith(url + "/oauth/consent/")


def client_oauth_endpoint(w: Walker, client: dict) -> str:
    return w.client_oauth(client)["authorization_endpoint"]


# -- limits before authentication ----------------------------------------------------------------
def test_oversized_bodies_are_refused_before_anything_is_stored(served, walker):
    url, backend, _ = served
    before = len(backend.store.docs("clients"))
    big = {"scope": "cds_client_admin", "client_name": "x" * (20 * 1024 * 1024)}
    r = httpx.post(walker.oauth["registration_endpoint"], json=big, timeout=60)
    assert r.status_code == 413 and r.json()["error"] == "invalid_request"
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=10) as raw:  # a body it never sends
        raw.sendall(
            b"POST /oauth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 999999999\r\n\r\n{}"
        )
        assert raw.recv(200).startswith(b"HTTP/1.1 413")
    assert len(backend.store.docs("clients")) == before


def test_message_attachments_of_ten_megabytes_are_accepted(walker):
    import base64

    data = base64.b64encode(os.urandom(10 * 1024 * 1024)).decode()
    body = {
        "type": "private_message",
        "previous_uri": None,
        "name": "big",
        "description": "ten megabytes",
        "attachments": [
            {"filename": "a.bin", "mime_type": "application/octet-stream", "data": data}
        ],
    }
    r = walker.admin("createMessage", "POST", walker.oauth["cds_messages_api"], json=body)
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize("where", ["register", "authorization_details"])
def test_deeply_nested_json_is_a_400(walker, where):
    deep = "[" * 10_000 + "]" * 10_000
    if where == "register":
        r = httpx.post(
            walker.oauth["registration_endpoint"],
            content=f'{{"scope": "cds_client_admin", "x": {deep}}}',
            headers={"Content-Type": "application/json"},
        )
    else:
        client = walker.client_with("cds_query_usage_1")
        r = httpx.post(
            walker.client_oauth(client)["token_endpoint"],
            data={"grant_type": "client_credentials", "authorization_details": deep},
            headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
        )
    assert r.status_code == 400 and r.json()["error"] in (
        "invalid_request",
        "invalid_authorization_details",
    )


def test_long_query_parameters_are_refused(walker):
    r = walker.http.get(walker.oauth["cds_clients_api"], params={"client_ids": "c" * 5000})
    assert r.status_code == 400 and "longer than" in r.json()["error_description"]


def _limited(tmp_path, limits: Limits):
    return serve_app(create_app(tmp_path / "cds.sqlite3", limits=limits))


def test_open_registration_is_rate_limited(tmp_path):
    with _limited(tmp_path, Limits(registration=Rate(5, 0.01))) as url:
        answers = [
            httpx.post(f"{url}/oauth/register", json={"scope": "cds_client_admin"})
            for _ in range(8)
        ]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
    assert int(answers[-1].headers["retry-after"]) >= 1


def test_wrong_secrets_are_rate_limited(tmp_path):
    with _limited(tmp_path, Limits(failed_token=Rate(5, 0.01))) as url:
        reg = httpx.post(f"{url}/oauth/register", json={"scope": "cds_client_admin"}).json()
        wrong = [
            httpx.post(
                f"{url}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers=basic(reg["client_id"], f"guess-{i}"),
            ).status_code
            for i in range(7)
        ]
        right = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(reg["client_id"], reg["client_secret"]),
        )
    assert wrong == [401] * 5 + [429] * 2
    assert right.status_code == 429 and "retry-after" in right.headers


def test_failed_sign_ins_are_rate_limited(tmp_path, spec):
    with _limited(tmp_path, Limits(failed_sign_in=Rate(3, 0.01))) as url:
        w = Walker(url, StrictResponses(spec))
        w.register(["cds_accounts_1"])
        consent, _, _ = _authorize(w)
        with httpx.Client() as browser:
            token = browser.get(consent).text.split('name="csrf_token" value="')[1].split('"')[0]
            tries = [
                browser.post(
                    consent,
                    data={"csrf_token": token, "username": "C-100234", "password": f"p{i}"},
                ).status_code
                for i in range(5)
            ]
            right = browser.post(
                consent, data={"csrf_token": token, "username": "C-100234", "password": "sandbox"}
            )
    assert tries == [401] * 3 + [429] * 2 and right.status_code == 429


def test_expired_tokens_codes_and_pending_requests_are_purged(served, walker):
    _, backend, db = served
    _authorize(walker)
    walker.data_token("cds_query_usage_1")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tokens SET expires_at = 1")
        conn.execute("UPDATE pending SET expires_at = 1")
    assert backend.purge_expired(force=True) > 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pending").fetchone() == (0,)
    walker.register(["cds_usage_1", "cds_query_usage_1", "cds_accounts_1"])  # a fresh admin


# -- no 500 from client input ----------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["code", "code_verifier"])
def test_an_authorization_code_request_missing_a_part_is_a_400(walker, missing):
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        code = _code(approve_consent(browser, url, "C-100234", ["acct-res-01"]))
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    del form[missing]
    r = walker.http.post(
        client["oauth"]["token_endpoint"],
        data=form,
        headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
    )
    assert r.status_code == 400 and missing in r.json()["error_description"]


@pytest.mark.parametrize("cursor", ["²", "9" * 5000, "999999", "-1", "abc"])
def test_foreign_cursors_are_all_a_400(walker, cursor):
    r = walker.http.get(
        walker.oauth["cds_clients_api"],
        params={"cursor": cursor},
        headers=bearer(walker.admin_token),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "entry",
    [
        {"segment_start": "P99999Y"},
        {"segment_start": "2025-13-45T00:00:00Z"},
        {"sync_until": "2025-02-30T00:00:00Z"},
        {"segment_end": "P" + "9" * 400 + "D"},
        {"account_numbers": [[[[[[[[[["deep"]]]]]]]]]]},
    ],
)
def test_bad_authorization_details_are_a_400(walker, entry):
    client = walker.client_with("cds_query_usage_1")
    details = [{"type": "cds_query_usage_1", **entry}]
    r = httpx.post(
        walker.client_oauth(client)["token_endpoint"],
        data={"grant_type": "client_credentials", "authorization_details": json.dumps(details)},
        headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_authorization_details"


# -- token hygiene ---------------------------------------------------------------------------------
def test_tokens_and_secrets_are_never_cached(walker):
    client = walker.client_with("cds_query_usage_1")
    token = walker.http.post(
        walker.client_oauth(client)["token_endpoint"],
        data={"grant_type": "client_credentials"},
        headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
    )
    registration = walker.http.post(
        walker.oauth["registration_endpoint"], json={"scope": "cds_client_admin"}
    )
    credentials = walker.http.get(
        walker.oauth["cds_credentials_api"], headers=bearer(walker.admin_token)
    )
    for r in (token, registration, credentials):
        assert r.status_code in (200, 201) and r.headers["cache-control"] == "no-store"


def test_a_replayed_code_revokes_the_tokens_it_gave(walker):
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        code = _code(approve_consent(browser, url, "C-100234", ["acct-res-01"]))
    first = _code_token(walker, client, code, verifier).json()
    replay = _code_token(walker, client, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    accounts = f"{walker.base}/cds-customerdata-api/v1/accounts"
    assert walker.http.get(accounts, headers=bearer(first["access_token"])).status_code == 401
    refreshed = walker.http.post(
        client["oauth"]["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_reusing_a_rotated_refresh_token_revokes_the_family(walker):
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        code = _code(approve_consent(browser, url, "C-100234", ["acct-res-01"]))
    first = _code_token(walker, client, code, verifier).json()
    secret = walker.secret_of(client["client_id"])

    def refresh(token: str) -> httpx.Response:
        return walker.http.post(
            client["oauth"]["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token},
            headers=basic(client["client_id"], secret),
        )

    second = refresh(first["refresh_token"]).json()
    stolen = refresh(first["refresh_token"])  # the rotated one, replayed
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    accounts = f"{walker.base}/cds-customerdata-api/v1/accounts"
    assert walker.http.get(accounts, headers=bearer(second["access_token"])).status_code == 401
    assert refresh(second["refresh_token"]).status_code == 400


def test_refresh_tokens_expire(served, walker):
    _, _, db = served
    url, verifier, client = _authorize(walker)
    with httpx.Client() as browser:
        code = _code(approve_consent(browser, url, "C-100234", ["acct-res-01"]))
    first = _code_token(walker, client, code, verifier).json()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE tokens SET expires_at = ? WHERE kind = 'refresh' AND expires_at IS NOT NULL",
            (int(time.time()) - 1,),
        )
        assert conn.execute(
            "SELECT count(*) FROM tokens WHERE kind = 'refresh' AND expires_at IS NULL"
        ).fetchone() == (0,)
    r = walker.http.post(
        client["oauth"]["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(client["client_id"], walker.secret_of(client["client_id"])),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_client_secrets_are_encrypted_at_rest(served, walker):
    _, _, db = served
    secret = walker.registration["client_secret"]
    assert walker.secret_of(walker.registration["client_id"]) == secret  # the API returns it
    raw = db.read_bytes() + (db.parent / (db.name + "-wal")).read_bytes()
    assert secret.encode() not in raw
    key = db.parent / (db.name + ".key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


# -- strict input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri, ok",
    [
        ("http://client.example.com/cb", False),
        ("https://client.example.com/cb", True),
        ("http://127.0.0.1:9000/cb", True),
    ],
)
def test_redirect_uris_need_https_except_loopback(walker, uri, ok):
    r = _add_redirect_uri(walker, "cds_usage_1", uri)
    assert r.status_code == (200 if ok else 400), r.text


def _add_redirect_uri(walker: Walker, scope: str, uri: str) -> httpx.Response:
    """Add ``uri`` to the redirect URIs of the Client Object with ``scope`` (Clients API)."""
    client = walker.client_with(scope)
    change = {k: client[k] for k in ("scope", "client_name", "contacts", "cds_status")}
    change["redirect_uris"] = [*client["redirect_uris"], uri]
    return walker.http.put(
        client["cds_client_uri"], json=change, headers=bearer(walker.admin_token)
    )


def _register_redirect_uri(walker: Walker, uri: str) -> None:
    """Add ``uri`` to the redirect URIs of the Client Object :func:`_authorize` uses."""
    r = _add_redirect_uri(walker, "cds_accounts_1", uri)
    assert r.status_code == 200 and uri in r.json()["redirect_uris"], r.text


@pytest.mark.parametrize(
    "registered, requested",
    [
        # kept as registered, no trailing slash added (RFC 6749 section 4.1.3: compared as strings)
        ("http://127.0.0.1:9002", "http://127.0.0.1:9002"),
        # a native app's loopback redirect URI, on the port it got (RFC 8252 section 7.3)
        ("http://127.0.0.1:9004/native", "http://127.0.0.1:54321/native"),
        ("http://[::1]/native", "http://[::1]:40000/native"),
    ],
)
def test_a_registered_redirect_uri_is_matched(walker, registered, requested):
    """The authorization request naming ``requested`` is accepted, the code is delivered
    there, and the token request naming the same URI gets tokens."""
    _register_redirect_uri(walker, registered)
    url, verifier, client = _authorize(walker, redirect_uri=requested)
    with httpx.Client() as browser:
        answer = approve_consent(browser, url, "C-100234", ["acct-res-01"])
    assert answer.headers["location"].startswith(f"{requested}?"), answer.headers["location"]
    token = _code_token(walker, client, _code(answer), verifier, redirect_uri=requested)
    assert token.status_code == 200, token.text


@pytest.mark.parametrize(
    "registered, requested",
    [
        ("http://127.0.0.1:9005/native", "http://127.0.0.1:54321/elsewhere"),
        ("http://127.0.0.1:9005/native", "http://localhost:9005/native"),
        ("https://client.example.com/callback", "https://client.example.com:8443/callback"),
        ("https://client.example.com/callback", "https://client.example.com/callback/"),
    ],
)
def test_an_unregistered_redirect_uri_is_refused(walker, registered, requested):
    """Only a loopback IP literal's port may differ; nothing else (RFC 9700 section 2.1)."""
    _register_redirect_uri(walker, registered)
    r, _, _ = _ask_authorization(walker, redirect_uri=requested)
    assert r.status_code == 400 and "redirect_uri" in r.text, r.text


def test_a_boolean_is_not_an_integer(walker):
    cred = walker.http.get(
        walker.oauth["cds_credentials_api"], headers=bearer(walker.admin_token)
    ).json()["credentials"][-1]
    r = walker.http.patch(
        cred["uri"], json={"client_secret_expires_at": True}, headers=bearer(walker.admin_token)
    )
    assert r.status_code == 400 and "client_secret_expires_at" in r.json()["error_description"]
    again = walker.http.get(cred["uri"], headers=bearer(walker.admin_token)).json()
    assert again["client_secret_expires_at"] == cred["client_secret_expires_at"]


def test_a_registration_must_be_json(walker):
    r = walker.http.post(
        walker.oauth["registration_endpoint"],
        content=json.dumps({"scope": "cds_client_admin"}),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and r.json()["error"] == "invalid_request"


# -- HTTP details ----------------------------------------------------------------------------------
def test_405_names_every_allowed_method(walker):
    client = walker.client_with("cds_usage_1")
    r = walker.http.delete(client["cds_client_uri"], headers=bearer(walker.admin_token))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, PUT"
    r = walker.http.put(walker.oauth["cds_messages_api"], headers=bearer(walker.admin_token))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"


def test_head_answers_every_get(walker):
    for url in (walker.oauth["cds_clients_api"], walker.metadata["coverage"]):
        get = walker.http.get(url, headers=bearer(walker.admin_token))
        head = walker.http.head(url, headers=bearer(walker.admin_token))
        assert head.status_code == get.status_code == 200
        assert head.content == b"" and head.headers["content-length"] == str(len(get.content))


def test_unknown_query_parameters_are_refused(walker):
    r = walker.http.get(
        walker.oauth["cds_clients_api"],
        params={"clients_ids": "x"},  # a misspelt filter would otherwise list everything
        headers=bearer(walker.admin_token),
    )
    assert r.status_code == 400 and "clients_ids" in r.json()["error_description"]


# -- nothing beyond the Grant ----------------------------------------------------------------------
def test_a_usage_only_token_sees_no_meter_anywhere(walker):
    token = walker.data_token("cds_query_usage_1")
    segments = walker.http.get(
        f"{walker.base}/cds-customerdata-api/v1/usage-segments",
        headers=bearer(token["access_token"]),
    ).json()["usage_segments"]
    assert segments
    text = json.dumps(segments)
    assert '"md-' not in text  # no meter id, not in any Value Format either


def test_a_database_with_a_replaced_key_is_refused_with_a_clear_error(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "cds.sqlite3"
    app = create_app(db, limits=UNLIMITED)
    with serve_app(app) as url:
        httpx.post(f"{url}/oauth/register", json={"scope": "cds_client_admin"})
    (tmp_path / "cds.sqlite3.key").write_text(os.urandom(32).hex() + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "cdsgen", "serve", "--db", str(db), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "do not open with" in run.stderr
    assert "Traceback" not in run.stderr


def test_consent_posts_are_rate_limited(tmp_path, spec):
    with _limited(tmp_path, Limits(consent=Rate(4, 0.01))) as url:
        w = Walker(url, StrictResponses(spec))
        w.register(["cds_accounts_1"])
        consent, _, _ = _authorize(w)
        answers = [httpx.post(consent, data={}).status_code for _ in range(6)]
    assert answers == [403] * 4 + [429] * 2
