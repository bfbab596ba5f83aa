"""The generated ``cds_client``, sync and async, against the reference Server (`cdsgen serve`
on 127.0.0.1) and against fake Servers (httpx.MockTransport, a silent socket).

Facts come from the raw HTTP exchanges: :func:`raw_usage` walks the documented path from
registration to usage with httpx alone, and the client's results must match it.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import math
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cds_client import (
    NO_RETRIES,
    AsyncCdsClient,
    CdsBadRequest,
    CdsClient,
    CdsDiscoveryError,
    CdsForbidden,
    CdsNotFound,
    CdsRateLimited,
    CdsServerError,
    CdsTimeout,
    CdsUnauthorized,
    Pkce,
    RetryPolicy,
)
from cds_client.transport import query_value, retry_after
from cds_harness import approve_consent, free_port
from cds_models import ServerMetadata, UsageSegment

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "generated/python/cds_client"

# One reference Server per worker for this module (`--dist loadgroup` keeps them together).
pytestmark = pytest.mark.xdist_group("cds_client")


# -- the reference Server ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The base URL of `cdsgen serve` on a fresh database."""
    port = free_port()
    db = tmp_path_factory.mktemp("server") / "cds.sqlite3"
    cmd = [sys.executable, "-m", "cdsgen", "serve", "--port", str(port), "--db", str(db)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/.well-known/cds-server-metadata.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"cdsgen serve did not start:\n{out}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the path from registration to data, in raw HTTP -----------------------------------------
@dataclasses.dataclass
class RawUsage:
    segments: list[dict]
    pages: int
    token_endpoint: str
    public_token_endpoint: str


def _scope_id(oauth: dict, scope_type: str) -> str:
    return next(i for i, d in oauth["cds_scope_descriptions"].items() if d["type"] == scope_type)


def _pages(http: httpx.Client, url: str, key: str, token: str) -> tuple[list[dict], int]:
    items, pages = [], 0
    while url:
        page = http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body[key]
        pages += 1
        url = body["next"]
    return items, pages


def raw_usage(base: str) -> RawUsage:
    """Every Usage Segment a fresh registration for the usage-query scope may read, walking
    CDS-WG1-02 §4 / CDS-WG3-01 §13.1 with httpx alone."""
    with httpx.Client() as http:
        meta = http.get(base + "/.well-known/cds-server-metadata.json").json()
        oauth = http.get(meta["oauth_metadata"]).json()
        admin_scope = _scope_id(oauth, "cds_client_admin")
        usage_scope = _scope_id(oauth, "cds_query_usage")
        reg = http.post(
            oauth["registration_endpoint"],
            json={"scope": f"{admin_scope} {usage_scope}", "client_name": "raw HTTP"},
        )
        assert reg.status_code == 201, reg.text
        admin = reg.json()
        token = http.post(
            oauth["token_endpoint"],
            auth=(admin["client_id"], admin["client_secret"]),
            data={"grant_type": "client_credentials", "scope": admin_scope},
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        clients, _ = _pages(http, oauth["cds_clients_api"], "clients", token)
        client = next(c for c in clients if usage_scope in c["scope"].split())
        creds = http.get(
            oauth["cds_credentials_api"], params={"client_ids": client["client_id"]}, headers=bearer
        ).json()["credentials"]
        secret = next(c["client_secret"] for c in creds if c.get("client_secret"))
        client_meta = http.get(client["cds_server_metadata"], headers=bearer).json()
        client_oauth = http.get(client_meta["oauth_metadata"], headers=bearer).json()
        usage_token = http.post(
            client_oauth["token_endpoint"],
            auth=(client["client_id"], secret),
            data={"grant_type": "client_credentials", "scope": usage_scope},
        ).json()["access_token"]
        segments, pages = _pages(
            http, client_oauth["cds_usagesegments_api"], "usage_segments", usage_token
        )
        return RawUsage(segments, pages, client_oauth["token_endpoint"], oauth["token_endpoint"])


@pytest.fixture(scope="module")
def raw(server) -> RawUsage:
    return raw_usage(server)


def _by_id(segments: list[UsageSegment]) -> dict[str, dict]:
    return {s.cds_usagesegment_id: s.model_dump(mode="json", exclude_unset=True) for s in segments}


def _same_as_raw(segments: list[UsageSegment], raw: RawUsage) -> None:
    assert [s.cds_usagesegment_id for s in segments] == [
        s["cds_usagesegment_id"] for s in raw.segments
    ]
    got = _by_id(segments)
    for expected in raw.segments:
        have = got[expected["cds_usagesegment_id"]]
        assert have["values"] == expected["values"]
        assert have["formats"] == expected["formats"]


def _one_year(segments: list[UsageSegment]) -> None:
    """Among ``segments``, a year of contiguous segments of one meter. The token may not see
    Meter Devices, so no `related_meterdevices` names the meter (not even in a Value Format);
    the reference Server's segment ids start with it (``us-<meter>-<date>``)."""
    meters: dict[str, list[UsageSegment]] = {}
    for s in segments:
        meters.setdefault(s.cds_usagesegment_id.rsplit("-", 1)[0], []).append(s)
    segments = max(meters.values(), key=len)
    assert len(segments) >= 365
    ordered = sorted(segments, key=lambda s: s.segment_start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert before.segment_end == after.segment_start
    assert ordered[-1].segment_end - ordered[0].segment_start >= timedelta(days=365)
    for s in ordered:
        assert s.interval * len(s.values) == (s.segment_end - s.segment_start).total_seconds()


# -- sync, end to end ----------------------------------------------------------------------------
def test_sync_register_token_clients_and_a_year_of_usage(server, raw):
    pages = []

    def record(request: httpx.Request) -> None:
        if "usage-segments" in request.url.path:
            pages.append(str(request.url))

    http = httpx.Client(event_hooks={"request": [record]})
    with CdsClient(server, http=http) as cds:
        admin = cds.register(["cds_query_usage"], client_name="sync test")
        reg = admin.registration
        assert reg is not None and reg.scope == "cds_client_admin" and reg.client_secret
        assert reg.grant_types == ["client_credentials"]
        clients = list(admin.iter_clients())
        scopes = {c.client_id: c.scope for c in clients}
        assert scopes[reg.client_id] == "cds_client_admin"
        usage_scope = _scope_id(cds.authorization_server_metadata().model_dump(), "cds_query_usage")
        assert any(usage_scope in s.split() for s in scopes.values())
        usage = admin.session_for_scope("cds_query_usage")
        assert usage.client_id != reg.client_id and usage.scope == usage_scope
        # the token endpoint of the Client Object's own metadata, not the public one
        assert str(usage.metadata.token_endpoint) == raw.token_endpoint
        assert raw.token_endpoint != raw.public_token_endpoint
        segments = list(usage.iter_usage_segments())
        assert usage.token is not None and usage.token.scope == usage_scope
    http.close()
    assert len(pages) == raw.pages > 1
    _same_as_raw(segments, raw)
    _one_year(segments)


def test_sync_filters_and_single_objects(server):
    with CdsClient(server) as cds:
        admin = cds.register(["cds_query_usage"], client_name="filters")
        usage = admin.session_for_scope("cds_query_usage")
        start = datetime(2025, 3, 1, tzinfo=UTC)
        march = list(usage.iter_usage_segments(after=start, before=start + timedelta(days=30)))
        assert march and all(s.segment_end >= start for s in march)
        assert all(s.segment_start <= start + timedelta(days=30) for s in march)
        one = march[0].cds_usagesegment_id
        listed = usage.list_usage_segments(cds_usagesegment_ids=[one])
        assert [s.cds_usagesegment_id for s in listed.usage_segments] == [one]
        # an object's own URL: Client Objects at their cds_client_uri
        me = admin.get_client(str(admin.registration.cds_client_uri))
        assert me.client_id == admin.client_id
        assert admin.get_client(me).client_id == me.client_id


# -- async, end to end ---------------------------------------------------------------------------
def test_async_register_token_clients_and_a_year_of_usage(server, raw):
    async def walk() -> tuple[list[UsageSegment], list[str], str]:
        async with AsyncCdsClient(server) as cds:
            admin = await cds.register(["cds_query_usage"], client_name="async test")
            clients = [c async for c in admin.iter_clients()]
            usage = await admin.session_for_scope("cds_query_usage")
            segments = [s async for s in usage.iter_usage_segments()]
            return segments, [c.client_id for c in clients], str(usage.metadata.token_endpoint)

    segments, client_ids, token_endpoint = asyncio.run(walk())
    assert len(client_ids) >= 2
    assert token_endpoint == raw.token_endpoint
    _same_as_raw(segments, raw)
    _one_year(segments)


# -- errors --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sessions(server):
    cds = CdsClient(server)
    admin = cds.register(["cds_query_usage"], client_name="errors")
    usage = admin.session_for_scope("cds_query_usage")
    yield cds, admin, usage
    cds.close()


def test_bad_token_raises_unauthorized(sessions):
    cds, _, usage = sessions
    stranger = cds.session_from_token("not-a-token", metadata=usage.metadata)
    with pytest.raises(CdsUnauthorized) as caught:
        stranger.list_usage_segments()
    assert caught.value.status == 401
    assert caught.value.error == "invalid_token"
    assert caught.value.error_description


def test_token_without_the_scope_raises_forbidden(sessions):
    _, admin, _ = sessions
    with pytest.raises(CdsForbidden) as caught:
        admin.list_usage_segments()  # the admin token has no usage scope
    assert caught.value.status == 403
    assert caught.value.error == "insufficient_scope"
    assert "cds_query_usage" in (caught.value.scope or "")


def test_bad_filter_raises_bad_request(sessions):
    _, _, usage = sessions
    with pytest.raises(CdsBadRequest) as caught:
        usage.list_usage_segments(before="not-a-datetime")
    assert caught.value.status == 400
    assert caught.value.error == "invalid_request"
    assert "before" in (caught.value.error_description or "")


def test_unknown_object_raises_not_found(sessions):
    _, admin, _ = sessions
    with pytest.raises(CdsNotFound) as caught:
        admin.get_client(str(admin.registration.cds_client_uri) + "-nobody")
    assert caught.value.status == 404


def test_unregistered_scope_is_a_discovery_error(sessions):
    _, admin, _ = sessions
    with pytest.raises(CdsDiscoveryError):
        admin.session_for_scope("cds_query_bill_statements")


def test_async_errors(server):
    async def check() -> None:
        async with AsyncCdsClient(server) as cds:
            admin = await cds.register(["cds_query_usage"], client_name="async errors")
            usage = await admin.session_for_scope("cds_query_usage")
            stranger = await cds.session_from_token("nope", metadata=usage.metadata)
            with pytest.raises(CdsUnauthorized):
                await stranger.list_usage_segments()
            with pytest.raises(CdsForbidden):
                await admin.list_usage_segments()
            with pytest.raises(CdsBadRequest):
                await usage.list_usage_segments(after="yesterday")

    asyncio.run(check())


# -- tokens ----------------------------------------------------------------------------------------
def test_expired_and_revoked_tokens_are_renewed(sessions):
    _, _, usage = sessions
    usage.list_usage_segments(cds_usagesegment_ids=["none"])
    first = usage.token
    assert first is not None and first.expires_at is not None
    usage.use_token(dataclasses.replace(first, expires_at=time.time()))  # about to expire
    usage.list_usage_segments(cds_usagesegment_ids=["none"])
    second = usage.token
    assert second is not None and second.access_token != first.access_token
    usage.revoke_token({"token": second.access_token})  # the Server forgets it: 401, renewed
    usage.list_usage_segments(cds_usagesegment_ids=["none"])
    assert usage.token is not None and usage.token.access_token != second.access_token


def _consent(url: str) -> dict[str, list[str]]:
    """Approve the authorization request at ``url`` as the Customer's browser would: sign in
    as the sandbox Customer C-200111 and share the first option of the consent page; the
    query of the redirect back to the Client."""
    with httpx.Client() as browser:
        back = approve_consent(browser, url, "C-200111")
        assert back.status_code in (302, 303), back.text
    return parse_qs(urlsplit(back.headers["location"]).query)


@pytest.mark.parametrize("explicit_redirect", [False, True], ids=["default", "explicit"])
def test_authorization_code_with_pkce(server, explicit_redirect):
    """A Customer-consent scope: authorization URL → consent (as a browser would) → code →
    tokens → data; then the refresh token renews them. With an explicit ``redirect_uri`` the
    token request must repeat it (RFC 6749 §4.1.3)."""
    with CdsClient(server) as cds:
        admin = cds.register(["cds_usage"], client_name="auth code")
        usage = admin.session_for_scope("cds_usage")
        pkce = Pkce.generate()
        redirect_uri = str(usage.client.redirect_uris[0]) if explicit_redirect else None
        url = usage.authorization_url(pkce, state="s-123", redirect_uri=redirect_uri)
        query = parse_qs(urlsplit(url).query)
        assert query["response_type"] == ["code"] and query["client_id"] == [usage.client_id]
        assert query["code_challenge"] == [pkce.challenge] and query["code_challenge_method"] == [
            "S256"
        ]
        assert url.startswith(str(usage.metadata.authorization_endpoint))
        redirect = _consent(url)
        assert redirect["state"] == ["s-123"]
        token = usage.exchange_code(redirect["code"][0], pkce, redirect_uri=redirect_uri)
        assert token.refresh_token and token.grant_ids
        segments = list(usage.iter_usage_segments())
        assert segments
        renewed = usage.refresh()
        assert renewed.access_token != token.access_token
        assert usage.list_usage_segments().usage_segments


def test_pkce_challenge_is_s256_of_the_verifier():
    # RFC 7636 Appendix B
    pkce = Pkce.from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.method == "S256"
    fresh = Pkce.generate()
    assert 43 <= len(fresh.verifier) <= 128 and fresh.verifier != Pkce.generate().verifier


# -- Grants, Grant Admin, Server-Provided Files, Messages, Credentials -----------------------------
def _grant_admin_scope(admin, scope_type: str) -> str:
    """The id of the Grant Admin scope that administers Grants of ``scope_type`` (the
    `grant_admin_scope` of its Scope Description, CDS-WG1-02 §3.3.2)."""
    descriptions = admin.metadata.cds_scope_descriptions
    scope_id = next(i for i, d in descriptions.items() if d.type == scope_type)
    grant_admin = descriptions[scope_id].grant_admin_scope
    assert grant_admin is not None and descriptions[grant_admin].type == "cds_grant_admin"
    return grant_admin


def _grant_admin_entry(grant_admin: str, grant) -> list[dict[str, str]]:
    """The one authorization details entry of a Grant Admin token request (§3.3.2)."""
    return [{"type": grant_admin, "client_id": grant.client_id, "grant_id": grant.grant_id}]


def _dumped(entries: list) -> list[dict]:
    """Authorization details entries as JSON (the models name them by where they appear)."""
    return [e.model_dump(mode="json", exclude_unset=True) for e in entries]


def _segment_ids(session) -> list[str]:
    return [s.cds_usagesegment_id for s in session.list_usage_segments().usage_segments]


def test_sync_grant_admin_reads_and_closes_a_customer_grant(server):
    """CDS-WG1-02 §3.3.2 and §8, CDS-WG3-01 §13.3.6–13.3.7: a Customer authorizes a Grant;
    the Client Admin lists and reads it; a Grant Admin token for it reads the same data;
    closing the Grant stops every token of it."""
    with CdsClient(server) as cds:
        admin = cds.register(["cds_usage"], client_name="grant admin")
        grant_admin = _grant_admin_scope(admin, "cds_usage")
        # registering a scope whose description names a Grant Admin scope gives that scope
        # a Client Object of its own
        assert any(c.scope.split() == [grant_admin] for c in admin.iter_clients())
        usage = admin.session_for_scope("cds_usage")
        pkce = Pkce.generate()
        redirect = _consent(usage.authorization_url(pkce))
        token = usage.exchange_code(redirect["code"][0], pkce)
        assert len(token.grant_ids) == 1
        before_close = _segment_ids(usage)
        assert before_close

        # the Grants API (Client Admin token): the Customer's Grant and its filters
        listed = admin.list_grants(client_ids=[usage.client_id])
        assert [g.grant_id for g in listed.grants] == token.grant_ids
        grant = listed.grants[0]
        assert grant.status == "active" and grant.parent is None and grant.children == []
        assert grant.scope == usage.scope == grant.enabled_scope
        assert {e.type for e in grant.authorization_details} == {usage.scope}
        assert _dumped(grant.enabled_authorization_details) == _dumped(grant.authorization_details)
        assert len(grant.receipt_confirmations) == 1
        assert admin.get_grant(grant) == grant
        assert admin.get_grant(str(grant.uri)) == grant
        mine = [g.grant_id for g in admin.iter_grants()]
        assert grant.grant_id in mine
        one_second = timedelta(seconds=1)
        for filters, found in [
            ({"grant_ids": [grant.grant_id]}, True),
            ({"grant_ids": ["no-such-grant"]}, False),
            ({"statuses": ["active", "pending"]}, True),
            ({"statuses": ["closed"]}, False),
            ({"scopes": [usage.scope]}, True),
            ({"scopes": [grant_admin]}, False),
            ({"receipt_confirmations": grant.receipt_confirmations}, True),
            ({"receipt_confirmations": ["R-NOBODY"]}, False),
            ({"parents": [grant.grant_id]}, False),  # it has no sub-Grants
            ({"after": grant.created}, True),
            ({"after": grant.created + one_second}, False),
            ({"before": grant.created}, True),
            ({"before": grant.created - one_second}, False),
        ]:
            ids = [g.grant_id for g in admin.list_grants(**filters).grants]
            assert (grant.grant_id in ids) == found, filters

        # a Grant Admin token for the Grant (§3.3.2, WG3-01 §13.3.7) reads the same data
        admin_of_grant = admin.session_for_scope(
            "cds_grant_admin", authorization_details=_grant_admin_entry(grant_admin, grant)
        )
        assert admin_of_grant.scope == grant_admin
        assert admin_of_grant.client_id not in (admin.client_id, usage.client_id)
        admin_token = admin_of_grant.fetch_token()
        assert grant_admin in (admin_token.scope or "").split()
        assert _dumped(admin_token.authorization_details) == _grant_admin_entry(grant_admin, grant)
        assert _segment_ids(admin_of_grant) == before_close
        # a Grant Admin token for a customer-data Grant names no Server-Provided Files Grant
        assert admin_of_grant.list_server_provided_files().files == []
        # the entry must name the Grant's own Client Object
        wrong = admin.session_for_scope(
            "cds_grant_admin",
            authorization_details=[
                {**_grant_admin_entry(grant_admin, grant)[0], "client_id": admin.client_id}
            ],
        )
        with pytest.raises(CdsBadRequest) as caught:
            wrong.fetch_token()
        assert caught.value.error == "invalid_grant"

        # closing the Grant (§8.6) ends every token of it
        # fields a Client may not change are ignored (§8.6)
        closed = admin.modify_grant(grant, {"status": "closed", "client_id": admin.client_id})
        assert closed.grant_id == grant.grant_id and closed.status == "closed"
        assert closed.client_id == usage.client_id
        assert closed.enabled_scope == "" and closed.enabled_authorization_details == []
        assert closed.scope == grant.scope and closed.modified >= grant.modified
        assert admin.get_grant(grant) == closed
        assert [g.grant_id for g in admin.list_grants(statuses=["closed"]).grants] == [
            grant.grant_id
        ]
        for session in (usage, admin_of_grant):
            stale = cds.session_from_token(session.token, metadata=session.metadata)
            with pytest.raises(CdsUnauthorized) as caught:
                stale.list_usage_segments()
            assert caught.value.error == "invalid_token"
        # renewing fails too: the refresh token and the Grant Admin request name a closed Grant
        with pytest.raises(CdsBadRequest) as caught:
            usage.list_usage_segments()
        assert caught.value.error == "invalid_grant"
        with pytest.raises(CdsBadRequest) as caught:
            admin_of_grant.fetch_token()
        assert caught.value.error == "invalid_grant"
        with pytest.raises(CdsBadRequest):
            admin.modify_grant(closed, {"status": "active"})  # a Client may only close


def test_narrowing_a_customer_grant_needs_no_new_authorization(server):
    """CDS-WG1-02 §8.6: a reduction MUST NOT require another user authorization; widening
    it again does."""
    with CdsClient(server) as cds:
        admin = cds.register(["cds_usage"], client_name="narrowing")
        usage = admin.session_for_scope("cds_usage")
        pkce = Pkce.generate()
        token = usage.exchange_code(_consent(usage.authorization_url(pkce))["code"][0], pkce)
        (grant,) = admin.list_grants(grant_ids=token.grant_ids).grants
        (entry,) = _dumped(grant.authorization_details)
        assert entry.get("include_eacs") is True
        narrower = [{**entry, "include_eacs": False}]  # one kind of data less
        narrowed = admin.modify_grant(grant, {"authorization_details": narrower})
        assert narrowed.status == "active"
        assert _dumped(narrowed.authorization_details) == narrower
        assert _dumped(narrowed.enabled_authorization_details) == narrower
        widened = admin.modify_grant(grant, {"authorization_details": [entry]})
        assert widened.status == "needs_authorization"


def test_sync_server_provided_files_through_grant_admin(server):
    """CDS-WG1-02 §3.3.3 and §9, examples §12.16–12.22: the Server-created Grant of a
    Server-Provided Files scope, a Grant Admin token for it, its files and their data."""
    token_forms: list[dict[str, list[str]]] = []
    downloads: list[httpx.Response] = []

    def on_request(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/token"):
            token_forms.append(parse_qs(request.content.decode()))

    def on_response(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/download"):
            downloads.append(response)

    http = httpx.Client(event_hooks={"request": [on_request], "response": [on_response]})
    with CdsClient(server, http=http) as cds:
        admin = cds.register(["cds_server_provided_files"], client_name="files")
        grant_admin = _grant_admin_scope(admin, "cds_server_provided_files")
        files_scope = _scope_id(admin.metadata.model_dump(), "cds_server_provided_files")
        files_client = next(c for c in admin.iter_clients() if c.scope == files_scope)
        # no token of its own: no grant types, no authentication method (§3.3.3)
        assert files_client.grant_types == [] and files_client.token_endpoint_auth_method is None

        # the Grant the Server created, found by scope (in `scope` or as an entry `type`)
        grants = admin.list_grants(scopes=[files_scope]).grants
        assert [g.client_id for g in grants] == [files_client.client_id]
        grant = grants[0]
        assert grant.status == "active" and grant.receipt_confirmations == []
        assert all(e.type == files_scope for e in grant.authorization_details)
        shared = [e.model_extra["file_id"] for e in grant.authorization_details]
        assert shared

        # §12.19: client_credentials with the Grant Admin scope and one entry for the Grant
        files = admin.session_for_scope(
            "cds_grant_admin", authorization_details=_grant_admin_entry(grant_admin, grant)
        )
        token = files.fetch_token()
        assert token.grant_ids == [grant.grant_id]
        form = token_forms[-1]
        assert form["grant_type"] == ["client_credentials"] and form["scope"] == [grant_admin]
        assert json.loads(form["authorization_details"][0]) == _grant_admin_entry(
            grant_admin, grant
        )
        listed = files.list_server_provided_files()
        assert listed.next is None and listed.previous is None
        assert sorted(f.file_id for f in listed.files) == sorted(shared)
        modified = [f.modified for f in listed.files]
        assert modified == sorted(modified, reverse=True)  # §9.2: most recently modified first
        assert list(files.iter_server_provided_files()) == listed.files
        for f in listed.files:
            assert files.get_server_provided_file(f) == f
            assert files.get_server_provided_file(str(f.uri)) == f
            assert files.list_server_provided_files(file_ids=[f.file_id]).files == [f]
            data = files.download_server_provided_file(f)
            assert len(data) == f.size > 0
            # as §12.22 shows: the file's content type, and its name for saving it
            headers = downloads[-1].headers
            assert headers["content-type"].split(";")[0] == f.mime_type
            assert f'filename="{f.name}"' in headers["content-disposition"]
            assert files.download_server_provided_file(str(f.download_uri)) == data
            if f.mime_type.startswith("text/"):
                data.decode("utf-8")
        assert files.list_server_provided_files(file_ids=["no-such-file"]).files == []
        with pytest.raises(CdsNotFound):
            files.get_server_provided_file(str(listed.files[0].uri) + "-nothing")

        # the Client Admin token is not a Grant Admin token for the files
        with pytest.raises(CdsForbidden):
            admin.list_server_provided_files()

        # narrowing the Grant's entries (§8.6: a reduction needs no new authorization)
        # narrows what the same token sees
        kept, *dropped = listed.files
        narrowed = admin.modify_grant(
            grant,
            {"authorization_details": [{"type": files_scope, "file_id": kept.file_id}]},
        )
        assert narrowed.status == "active"
        assert _dumped(narrowed.enabled_authorization_details) == [
            {"type": files_scope, "file_id": kept.file_id}
        ]
        assert files.list_server_provided_files().files == [kept]
        for f in dropped:
            with pytest.raises(CdsNotFound):
                files.get_server_provided_file(f)
            with pytest.raises(CdsNotFound):
                files.download_server_provided_file(f)

        # closing the Grant withdraws the files
        admin.modify_grant(grant, {"status": "closed"})
        stale = cds.session_from_token(token, metadata=files.metadata)
        with pytest.raises(CdsUnauthorized):
            stale.list_server_provided_files()
        with pytest.raises(CdsUnauthorized):
            stale.download_server_provided_file(listed.files[0])
    http.close()


def test_sync_messages(server):
    """CDS-WG1-02 §6: the Server's welcome, a private message, a grant request and its
    answer, and marking Messages read and unread."""
    with CdsClient(server) as cds:
        admin = cds.register(["cds_query_usage"], client_name="messages")
        first = admin.list_messages()
        assert first.outstanding == [] and first.read == []
        (welcome,) = first.unread
        assert welcome.creator is None and welcome.read is False
        assert welcome.type == "notification" and welcome.status == "complete"

        note = admin.create_message(
            {
                "previous_uri": None,
                "type": "private_message",
                "name": "Hello",
                "description": 'A question about <the> "sandbox" & its data.',
            }
        )
        assert note.creator == admin.client_id and note.read is True
        assert note.status == "complete" and note.previous_uri is None
        assert note.description == 'A question about <the> "sandbox" & its data.'
        assert admin.get_message(note) == note

        request = admin.create_message(
            {
                "previous_uri": None,
                "type": "grant_request",
                "name": "Accounts, please",
                "description": "Access to the accounts of a Customer we support.",
                "related_uri": str(admin.registration.cds_client_uri),
                "grants_requested": [
                    {
                        "scope": _scope_id(admin.metadata.model_dump(), "cds_query_accounts"),
                        "authorization_details": [],
                    }
                ],
            }
        )
        assert request.status == "pending" and request.related_type == "client"

        listing = admin.list_messages()
        # `outstanding` goes by each Message's own status (§6.8): the request stays `pending`;
        # the answer's status overrides it for the Client (§6.2)
        assert [m.message_id for m in listing.outstanding] == [request.message_id]
        assert {m.message_id for m in listing.read} == {note.message_id, request.message_id}
        # the Server's answer: a request_update linked to the request (§6.9)
        (answer,) = [m for m in listing.unread if m.previous_uri == request.uri]
        assert answer.type == "request_update" and answer.creator is None
        assert answer.status in ("complete", "rejected")
        assert {m.message_id for m in admin.iter_unread_messages()} == {
            welcome.message_id,
            answer.message_id,
        }

        read = admin.modify_message(welcome, {"read": True})
        assert read.read is True and read.message_id == welcome.message_id
        assert admin.get_message(str(welcome.uri)).read is True
        assert welcome.message_id in {m.message_id for m in admin.iter_read_messages()}
        assert welcome.message_id not in {m.message_id for m in admin.iter_unread_messages()}
        assert admin.modify_message(welcome, {"read": False}).read is False
        only = admin.list_messages(message_ids=[note.message_id])
        assert [m.message_id for m in only.read] == [note.message_id]
        assert only.unread == [] and only.outstanding == []
        with pytest.raises(CdsBadRequest):  # a client_submission answers a server_request
            admin.create_message(
                {"previous_uri": None, "type": "client_submission", "name": "", "description": ""}
            )


def test_sync_credentials_rotation_refuses_the_old_secret_and_its_tokens(server):
    """CDS-WG1-02 §7: a new secret works; expiring the old one now (§7.6) refuses it and
    revokes the tokens it got; both changes are announced as Messages (§7.3)."""
    with CdsClient(server) as cds:
        admin = cds.register(["cds_query_usage"], client_name="credentials")
        (old,) = admin.iter_credentials(client_ids=[admin.client_id])
        assert old.client_secret == admin.registration.client_secret
        assert old.client_secret_expires_at == 0

        new = admin.create_credential({"client_id": admin.client_id})
        assert new.client_id == admin.client_id and new.credential_id != old.credential_id
        assert new.client_secret and new.client_secret != old.client_secret
        assert admin.get_credential(new) == new
        ids = [c.credential_id for c in admin.iter_credentials(client_ids=[admin.client_id])]
        assert sorted(ids) == sorted([old.credential_id, new.credential_id])
        rotated = cds.session(admin.client_id, new.client_secret)
        assert rotated.list_clients().clients
        # an expiry ahead keeps the secret working; it may move earlier, never later (§7.6)
        soon = int(time.time()) + 3600
        assert rotated.modify_credential(new, {"client_secret_expires_at": soon}) == (
            rotated.get_credential(new)
        )
        with pytest.raises(CdsBadRequest):
            rotated.modify_credential(new, {"client_secret_expires_at": soon + 60})
        with pytest.raises(CdsBadRequest):
            rotated.modify_credential(new, {"client_secret_expires_at": 0})
        assert cds.session(admin.client_id, new.client_secret).fetch_token().access_token

        old_token = admin.token
        assert old_token is not None
        expired = admin.modify_credential(old, {"client_secret_expires_at": int(time.time())})
        assert expired.credential_id == old.credential_id
        assert 0 < expired.client_secret_expires_at <= time.time()
        with pytest.raises(CdsUnauthorized) as caught:
            cds.session_from_token(old_token, metadata=admin.metadata).list_clients()
        assert caught.value.error == "invalid_token"
        with pytest.raises(CdsUnauthorized) as caught:
            cds.session(admin.client_id, old.client_secret).fetch_token()
        assert caught.value.error == "invalid_client"
        # the new secret is untouched, and an expiry can only move earlier
        assert [c.client_id for c in rotated.list_clients(client_ids=[admin.client_id]).clients]
        with pytest.raises(CdsBadRequest):
            rotated.modify_credential(expired, {"client_secret_expires_at": 0})
        with pytest.raises(CdsBadRequest):
            rotated.create_credential({"client_id": "no-such-client"})
        related = {
            str(m.related_uri)
            for m in rotated.iter_unread_messages()
            if m.related_type == "credential"
        }
        assert {str(new.uri), str(old.uri)} <= related


# -- the same flows, async ------------------------------------------------------------------------
def test_async_grant_admin_files_messages_and_credentials(server):
    async def walk() -> None:
        async with AsyncCdsClient(server) as cds:
            admin = await cds.register(
                ["cds_usage", "cds_server_provided_files"], client_name="async admin"
            )
            grant_admin = _grant_admin_scope(admin, "cds_usage")
            assert grant_admin == _grant_admin_scope(admin, "cds_server_provided_files")
            usage = await admin.session_for_scope("cds_usage")
            pkce = Pkce.generate()
            redirect = await asyncio.to_thread(_consent, usage.authorization_url(pkce))
            token = await usage.exchange_code(redirect["code"][0], pkce)
            data = (await usage.list_usage_segments()).usage_segments

            (grant,) = (await admin.list_grants(grant_ids=token.grant_ids)).grants
            assert await admin.get_grant(grant) == grant
            by_grant = await admin.session_for_scope(
                "cds_grant_admin", authorization_details=_grant_admin_entry(grant_admin, grant)
            )
            again = (await by_grant.list_usage_segments()).usage_segments
            assert [s.cds_usagesegment_id for s in again] == [s.cds_usagesegment_id for s in data]
            closed = await admin.modify_grant(grant, {"status": "closed"})
            assert closed.status == "closed" and closed.enabled_scope == ""
            stale = await cds.session_from_token(usage.token, metadata=usage.metadata)
            with pytest.raises(CdsUnauthorized):
                await stale.list_usage_segments()

            files_scope = _scope_id(admin.metadata.model_dump(), "cds_server_provided_files")
            grants = [g async for g in admin.iter_grants(scopes=[files_scope])]
            assert len(grants) == 1
            files = await admin.session_for_scope(
                "cds_grant_admin",
                authorization_details=_grant_admin_entry(grant_admin, grants[0]),
            )
            listed = [f async for f in files.iter_server_provided_files()]
            assert listed
            for f in listed:
                assert await files.get_server_provided_file(f) == f
                assert len(await files.download_server_provided_file(f)) == f.size

            note = await admin.create_message(
                {"previous_uri": None, "type": "private_message", "name": "Hi", "description": "x"}
            )
            assert note.creator == admin.client_id
            unread = [m async for m in admin.iter_unread_messages()]
            assert unread and all(not m.read for m in unread)
            assert (await admin.modify_message(unread[0], {"read": True})).read is True

            (old,) = [c async for c in admin.iter_credentials(client_ids=[admin.client_id])]
            new = await admin.create_credential({"client_id": admin.client_id})
            old_token = admin.token
            await admin.modify_credential(old, {"client_secret_expires_at": int(time.time())})
            stale = await cds.session_from_token(old_token, metadata=admin.metadata)
            with pytest.raises(CdsUnauthorized):
                await stale.list_clients()
            rotated = await cds.session(admin.client_id, new.client_secret)
            assert (await rotated.list_clients()).clients

    asyncio.run(walk())


# -- retries and timeouts ------------------------------------------------------------------------
METADATA = {
    "cds_metadata_version": "v1",
    "cds_metadata_url": "http://cds.test/.well-known/cds-server-metadata.json",
    "created": "2025-01-01T00:00:00Z",
    "updated": "2025-01-01T00:00:00Z",
    "name": "Fake",
    "description": "A fake Server.",
    "website": "http://cds.test/",
    "documentation": "http://cds.test/docs",
    "support": "http://cds.test/support",
    "capabilities": ["coverage", "oauth"],
    "oauth_metadata": "http://cds.test/oauth-metadata",
}


def _flaky(answers: list[httpx.Response]) -> tuple[httpx.MockTransport, list[float]]:
    """A transport answering ``answers`` in turn, then the metadata; records the call times."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) <= len(answers):
            return answers[len(calls) - 1]
        return httpx.Response(200, json=METADATA)

    return httpx.MockTransport(handler), calls


def test_503_with_retry_after_is_retried_after_the_delay():
    transport, calls = _flaky([httpx.Response(503, headers={"Retry-After": "1"})])
    with CdsClient("http://cds.test", http=httpx.Client(transport=transport)) as cds:
        meta = cds.get_server_metadata()
    assert isinstance(meta, ServerMetadata) and meta.name == "Fake"
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 1.0  # Retry-After: 1 honoured


def test_429_is_retried_until_the_policy_gives_up():
    busy = httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow_down"})
    transport, calls = _flaky([busy] * 3)
    with CdsClient("http://cds.test", http=httpx.Client(transport=transport)) as cds:
        assert cds.get_server_metadata().name == "Fake"
    assert len(calls) == 4

    transport, calls = _flaky([busy] * 10)
    policy = RetryPolicy(retries=2)
    with CdsClient("http://cds.test", http=httpx.Client(transport=transport), retry=policy) as cds:
        with pytest.raises(CdsRateLimited) as caught:
            cds.get_server_metadata()
    assert len(calls) == 3
    assert caught.value.status == 429 and caught.value.error == "slow_down"
    assert caught.value.retry_after == 0.0


def test_a_longer_retry_after_than_allowed_is_not_waited_for():
    transport, calls = _flaky([httpx.Response(503, headers={"Retry-After": "3600"})])
    with CdsClient("http://cds.test", http=httpx.Client(transport=transport)) as cds:
        with pytest.raises(CdsServerError) as caught:
            cds.get_server_metadata()
    assert len(calls) == 1 and caught.value.status == 503


def test_async_retry_honours_retry_after():
    transport, calls = _flaky([httpx.Response(503, headers={"Retry-After": "1"})])

    async def fetch() -> ServerMetadata:
        async with AsyncCdsClient(
            "http://cds.test", http=httpx.AsyncClient(transport=transport)
        ) as cds:
            return await cds.get_server_metadata()

    assert asyncio.run(fetch()).name == "Fake"
    assert len(calls) == 2 and calls[1] - calls[0] >= 1.0


def test_oauth_error_from_the_challenge_when_the_body_has_none():
    challenge = 'Bearer realm="cds", error="invalid_token", error_description="gone \\"now\\""'
    transport = httpx.MockTransport(
        lambda request: httpx.Response(401, headers={"WWW-Authenticate": challenge})
    )
    with CdsClient("http://cds.test", http=httpx.Client(transport=transport)) as cds:
        with pytest.raises(CdsUnauthorized) as caught:
            cds.get_server_metadata()
    assert caught.value.error == "invalid_token"
    assert caught.value.error_description == 'gone "now"'


def test_retry_after_as_an_http_date():
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    response = httpx.Response(503, headers={"Retry-After": "Sun, 01 Jun 2025 12:00:05 GMT"})
    assert retry_after(response, now) == 5.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert RetryPolicy().delay(0) == 0.5 and RetryPolicy().delay(2) == 2.0
    assert RetryPolicy(retries=1).delay(1) is None


def test_timeout_raises_cds_timeout():
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            with CdsClient(f"http://127.0.0.1:{port}", timeout=0.3, retry=NO_RETRIES) as cds:
                with pytest.raises(CdsTimeout):
                    cds.get_server_metadata()
        finally:
            stop.set()
            thread.join()
            for conn in held:
                conn.close()


def test_query_values():
    assert query_value(["a", "b c"]) == "a b c"
    assert query_value(datetime(2025, 1, 1, 1, tzinfo=UTC)) == "2025-01-01T01:00:00Z"
    assert query_value(True) == "true"
    with pytest.raises(ValueError):
        query_value(datetime(2025, 1, 1))


# -- the example ---------------------------------------------------------------------------------
def _electric_kwh(segment: dict) -> list[float]:
    """The rule of examples/read_usage.py, on raw JSON."""
    per_unit = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
    electric = [
        (i, f)
        for i, f in enumerate(segment["formats"])
        if f["type"] == "electric_usage" and f["units"] in per_unit
    ]
    counted = [(i, f) for i, f in electric if f.get("direction") == "net"] or electric
    return [
        float(values[i]["eu"]) * per_unit[f["units"]]
        for values in segment["values"]
        for i, f in counted
        if values[i] is not None
    ]


def test_read_usage_example_prints_the_total_of_the_raw_responses(server, raw):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples/read_usage.py"), server],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"total_kwh=(-?\d+\.\d+)", last)
    assert match, proc.stdout
    expected = math.fsum(v for s in raw.segments for v in _electric_kwh(s))
    assert expected > 0
    assert float(match.group(1)) == pytest.approx(expected, abs=1e-6)


def test_tutorial_code_runs_against_the_server(server, raw, capsys):
    """The Python blocks of site/tutorial.md, in order, on the test Server (the last one
    needs a Customer's browser and is left out)."""
    text = (ROOT / "site/tutorial.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    for block in blocks:
        if "exchange_code(code" in block:
            continue
        exec(
            compile(block.replace("http://127.0.0.1:8000", server), "tutorial.md", "exec"),
            namespace,
        )
    expected = math.fsum(v for s in raw.segments for v in _electric_kwh(s))
    assert namespace["total"] == pytest.approx(expected, abs=1e-6)
    assert "invalid_request" in capsys.readouterr().out  # the error-handling block
    namespace["cds"].close()


# -- the generated code ---------------------------------------------------------------------------
def test_every_operation_has_a_typed_method(spec):
    from cds_client import AsyncCdsSession, CdsSession
    from cdsgen.emit.client import client_operations

    for op in client_operations(spec):
        owner = CdsClient if op.home == "discovery" else CdsSession
        aowner = AsyncCdsClient if op.home == "discovery" else AsyncCdsSession
        for cls in (owner, aowner):
            assert hasattr(cls, op.name), (cls.__name__, op.ep.operation_id)
            for it in op.iterations:
                assert hasattr(cls, it.name)
        if op.view.kind != "redirect":  # building the authorization URL needs no I/O
            assert asyncio.iscoroutinefunction(getattr(aowner, op.name)), op.name


def test_no_path_is_hard_coded(spec):
    """URLs come from the metadata; only the well-known Server Metadata path is fixed."""
    text = "\n".join(p.read_text() for p in CLIENT.glob("*.py"))
    allowed = {ep.path for ep in spec.endpoints.values() if ep.well_known}
    for ep in spec.endpoints.values():
        if ep.path not in allowed:
            assert f'"{ep.path}' not in text, ep.path
    for literal in ("/cds-api/", "/oauth/", "/cds-customerdata/"):
        assert literal not in text


def test_generated_client_passes_ruff():
    ruff = Path(sys.executable).parent / "ruff"
    for args in (["check"], ["format", "--check"]):
        proc = subprocess.run(
            [str(ruff), *args, "--config", str(ROOT / "pyproject.toml"), str(CLIENT)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_descriptions_cannot_break_the_generated_code(tmp_path):
    """Summaries reach docstrings; quotes, backslashes and template syntax stay text."""
    from cdsgen.emit.client import emit_client
    from cdsgen.lint import lint

    nasty = 'Say "hi" \\ {{ x }} {% raw %} """ \'\'\' \\"\\"\\" ends with a quote"'
    shutil.copytree(ROOT / "tests/fixtures/minispec", tmp_path / "spec")
    things = tmp_path / "spec/cds-test-01/things.yaml"
    text = things.read_text().replace("summary: List things.", "summary: " + json.dumps(nasty))
    things.write_text(text.replace("summary: Only these.", "summary: " + json.dumps(nasty)))
    result = lint(tmp_path / "spec")
    assert result.ok, [str(d) for d in result.diagnostics.errors]
    files = emit_client(result.spec)
    source = files["generated/python/cds_client/client.py"]
    tree = compile(source, "client.py", "exec", flags=ast.PyCF_ONLY_AST)
    session = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CdsClient")
    method = next(n for n in session.body if getattr(n, "name", "") == "list_things")
    doc = ast.get_docstring(method)
    assert doc is not None and doc.startswith(nasty)
    assert "ids: " + nasty in doc
    # without `advertised_by`, nothing locates the operation: the caller names its URL
    assert [a.arg for a in method.args.args] == ["self", "url"]
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_value_sets_round_trip_as_the_server_sent_them(raw):
    segment = UsageSegment.model_validate(raw.segments[0])
    assert (
        segment.model_dump(mode="json", exclude_unset=True)["values"] == raw.segments[0]["values"]
    )
    assert (
        json.loads(segment.model_dump_json(exclude_unset=True))["formats"]
        == raw.segments[0]["formats"]
    )
