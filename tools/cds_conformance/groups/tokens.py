"""The token endpoint (RFC 6749 as CDS-WG1-02 profiles it): client_credentials,
authorization_code with PKCE S256, refresh, revocation, introspection, PAR, and the error
cases a Client can provoke."""

from __future__ import annotations

from typing import Any

from cds_conformance.model import Check
from cds_conformance.runner import Run, Unavailable, basic, bearer, pkce
from cds_conformance.transport import exchange_of

W2 = "cds-wg1-02"


def _c(name: str, anchor: str, title: str, level: str = "MUST") -> Check:
    return Check(f"wg1-02.token.{name}", "tokens", W2, anchor, level, title)


CLIENT_CREDENTIALS = _c(
    "client-credentials",
    "scopes-client-admin",
    "client_credentials with client_secret_basic gives a valid token response",
)
NO_STORE = _c(
    "no-store",
    "auth-server-metadata-format",
    "every token response carries Cache-Control: no-store (RFC 6749 §5.1)",
)
BAD_SECRET = _c(
    "bad-secret",
    "auth-server-metadata-format",
    "a wrong client secret is refused with invalid_client",
)
AUTHORIZATION_CODE = _c(
    "authorization-code",
    "grant-authorization-requests",
    "authorization_code with PKCE S256 gives a valid token response",
)
CODE_REUSE = _c(
    "code-reuse", "grant-authorization-requests", "a code used once is refused (invalid_grant)"
)
WRONG_VERIFIER = _c(
    "wrong-verifier",
    "grant-authorization-requests",
    "a code_verifier that does not match the challenge is refused (invalid_grant)",
)
WRONG_REDIRECT = _c(
    "wrong-redirect-uri",
    "grant-authorization-requests",
    "a redirect_uri other than the authorization request's is refused (invalid_grant)",
)
REFRESH = _c(
    "refresh", "grant-authorization-requests", "a refresh token gives a new valid access token"
)
INTROSPECTION = _c(
    "introspection",
    "auth-server-metadata-format",
    "introspection of a live token says active with its scope",
)
REVOCATION = _c(
    "revocation",
    "auth-server-metadata-format",
    "a revoked token is inactive and no longer opens the data APIs",
)
PAR = _c(
    "pushed-authorization-request",
    "auth-server-metadata-format",
    "a pushed authorization request gives a request_uri the authorization endpoint accepts",
)
CHECKS = [
    CLIENT_CREDENTIALS,
    BAD_SECRET,
    AUTHORIZATION_CODE,
    REFRESH,
    CODE_REUSE,
    WRONG_VERIFIER,
    WRONG_REDIRECT,
    INTROSPECTION,
    REVOCATION,
    PAR,
    NO_STORE,
]


def consent_scope(run: Run) -> str:
    """The customer-consent scope the code checks use (an account list where offered)."""
    scopes = run.consent_scopes()
    if not scopes:
        raise Unavailable("the Server offers no authorization_code scope")
    preferred = [s for s in scopes if run.description(s).get("type") == "cds_accounts"]
    return (preferred or scopes)[0]


def _oauth_error(c: Any, r: Any, status: tuple[int, ...], error: str, what: str) -> None:
    c.status(r, *status, what=what)
    body = c.json(r, what=what)
    c.expect(
        isinstance(body, dict) and body.get("error") == error,
        f"{what}: error {body.get('error') if isinstance(body, dict) else body!r}, "
        f"expected {error}",
    )
    c.strict("OAuthError", body, what=what)


def run(run: Run) -> None:
    grant_types = run.oauth.get("grant_types_supported") or [] if _has_oauth(run) else []
    with run.checking(CLIENT_CREDENTIALS) as c:
        if c:
            _ = run.admin_token
            r = run.responses["admin_token"]
            c.strict("TokenResponse", c.json(r), what="token response")
            c.expect(
                str(r.json().get("token_type", "")).lower() == "bearer",
                f"token_type {r.json().get('token_type')!r}",
            )
    with run.checking(BAD_SECRET) as c:
        if c:
            reg = run.registration
            r = run.http.post(
                run.oauth["token_endpoint"],
                data={"grant_type": "client_credentials"},
                headers=basic(reg["client_id"], reg["client_secret"] + "-wrong"),
            )
            _oauth_error(c, r, (401, 400), "invalid_client", "wrong secret")
            if r.status_code == 401:
                c.expect(r.headers.get("www-authenticate"), "401 without WWW-Authenticate")
    if "authorization_code" in grant_types:
        _code_checks(run, "refresh_token" in grant_types)
    else:
        for check in (AUTHORIZATION_CODE, CODE_REUSE, WRONG_VERIFIER, WRONG_REDIRECT, REFRESH):
            run.skip(check, "the Server does not advertise the authorization_code grant")
    _introspection_and_revocation(run)
    if _has_oauth(run) and run.oauth.get("pushed_authorization_request_endpoint"):
        _par(run)
    else:
        run.skip(PAR, "no pushed_authorization_request_endpoint advertised")
    with run.checking(NO_STORE) as c:
        if c:
            responses = [r for r in run.token_responses if r.status_code == 200]
            c.expect(responses, "no successful token response to look at")
            for r in responses:
                cache = r.headers.get("cache-control", "")
                if "no-store" not in cache.lower():
                    c.outcome.exchanges.append(exchange_of(r))
                c.expect(
                    "no-store" in cache.lower(),
                    f"token response from {r.request.url} has Cache-Control {cache!r}",
                )


def _has_oauth(run: Run) -> bool:
    try:
        _ = run.oauth
    except Exception:
        return False
    return True


def _code_checks(run: Run, refresh: bool) -> None:
    with run.checking(AUTHORIZATION_CODE) as c:
        if c:
            grant = run.authorization(consent_scope(run))
            r = run.exchange(grant)
            c.status(r, 200, what="code exchange")
            token = c.json(r)
            c.strict("TokenResponse", token, what="token response")
            run.state["code_grant"], run.state["code_token"] = grant, token
    # before the reuse check: a Server may revoke what a replayed code gave (RFC 6749 §4.1.2)
    if not refresh:
        run.skip(REFRESH, "the Server does not advertise the refresh_token grant")
    else:
        with run.checking(REFRESH) as c:
            if c:
                grant, token = run.state.get("code_grant"), run.state.get("code_token")
                if grant is None or token is None:
                    grant = run.authorization(consent_scope(run))
                    r = run.exchange(grant)
                    c.status(r, 200, what="code exchange")
                    token = c.json(r)
                if not token.get("refresh_token"):
                    c.fail("the code exchange gave no refresh_token though the grant is offered")
                r = run.token_request(
                    grant["oauth"].get("token_endpoint"),
                    {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                    grant["client"]["client_id"],
                    grant["secret"],
                )
                c.status(r, 200, what="refresh")
                fresh = c.json(r)
                c.strict("TokenResponse", fresh, what="refreshed token response")
                c.expect(fresh.get("access_token"), "no access_token")
    with run.checking(CODE_REUSE) as c:
        if c:
            grant = run.state.get("code_grant")
            if grant is None:
                grant = run.authorization(consent_scope(run))
                run.exchange(grant)
            _oauth_error(c, run.exchange(grant), (400,), "invalid_grant", "a reused code")
    with run.checking(WRONG_VERIFIER) as c:
        if c:
            grant = run.authorization(consent_scope(run))
            r = run.exchange(grant, code_verifier=pkce()[0])
            _oauth_error(c, r, (400,), "invalid_grant", "a wrong code_verifier")
    with run.checking(WRONG_REDIRECT) as c:
        if c:
            grant = run.authorization(consent_scope(run))
            other = grant["redirect_uri"].rstrip("/") + "/cds-conformance-elsewhere"
            r = run.exchange(grant, redirect_uri=other)
            _oauth_error(c, r, (400,), "invalid_grant", "a different redirect_uri")


def _introspection_and_revocation(run: Run) -> None:
    try:
        scopes = run.direct_scopes()
    except Exception:
        scopes = []
    with run.checking(INTROSPECTION) as c:
        if c:
            if not scopes:
                c.skip("no direct-access scope to get a token for")
            token = run.cc_token(scopes[0])
            endpoint = token["oauth"].get("introspection_endpoint")
            if not endpoint:
                c.skip("no introspection_endpoint advertised")
            client = token["client"]
            r = run.http.post(
                endpoint,
                data={"token": token["access_token"]},
                headers=basic(client["client_id"], run.secret_of(client["client_id"])),
            )
            c.status(r, 200, what="introspection")
            body = c.json(r)
            c.strict("TokenIntrospectionResponse", body, what="introspection")
            c.expect(body.get("active") is True, f"a live token is introspected as {body}")
    with run.checking(REVOCATION) as c:
        if c:
            if not scopes:
                c.skip("no direct-access scope to get a token for")
            sid = scopes[0]
            client = run.client_for(sid)
            oauth = run.client_oauth(client)
            endpoint = oauth.get("revocation_endpoint")
            if not endpoint:
                c.skip("no revocation_endpoint advertised")
            secret = run.secret_of(client["client_id"])
            r = run.token_request(
                oauth.get("token_endpoint"),
                {"grant_type": "client_credentials", "scope": sid},
                client["client_id"],
                secret,
            )
            c.status(r, 200, what="token for revocation")
            access = r.json()["access_token"]
            r = run.http.post(
                endpoint, data={"token": access}, headers=basic(client["client_id"], secret)
            )
            c.status(r, 200, what="revocation")
            if oauth.get("introspection_endpoint"):
                r = run.http.post(
                    oauth["introspection_endpoint"],
                    data={"token": access},
                    headers=basic(client["client_id"], secret),
                )
                c.status(r, 200, what="introspection after revocation")
                c.expect(
                    c.json(r).get("active") is False,
                    f"a revoked token is introspected as {r.json()}",
                )
            api = _some_api(run, oauth, sid)
            if api:
                r = run.http.get(api, headers=bearer(access))
                c.expect(r.status_code == 401, f"a revoked token opened {api}: {r.status_code}")


def _some_api(run: Run, oauth: dict[str, Any], scope_id: str) -> str | None:
    scope_type = run.description(scope_id).get("type")
    for ep in run.rules.spec.endpoints.values():
        field = (ep.advertised_by or "").split(".")[-1]
        if scope_type in ep.scopes and ep.method == "GET" and oauth.get(field):
            return str(oauth[field])
    return None


def _par(run: Run) -> None:
    with run.checking(PAR) as c:
        if c:
            scope = consent_scope(run)
            client = run.client_for(scope)
            oauth = run.client_oauth(client)
            endpoint = oauth.get("pushed_authorization_request_endpoint")
            if not endpoint:
                c.skip("the Client Object's metadata names no PAR endpoint")
            _, challenge = pkce()
            redirect = client.get("cds_default_redirect_uri") or client["redirect_uris"][0]
            form = {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": redirect,
                "scope": scope,
                "state": "cds-conformance",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            r = run.http.post(
                endpoint,
                data=form,
                headers=basic(client["client_id"], run.secret_of(client["client_id"])),
            )
            c.status(r, 201, what="pushed authorization request")
            body = c.json(r)
            c.strict("PushedAuthorizationResponse", body, what="PAR response")
            r = run.http.get(
                oauth["authorization_endpoint"],
                params={"client_id": client["client_id"], "request_uri": body["request_uri"]},
            )
            c.expect(
                r.status_code in (200, 302, 303),
                f"the authorization endpoint refused the request_uri: {r.status_code}",
            )
            if r.status_code in (302, 303):
                c.expect(
                    "error=" not in r.headers.get("location", ""),
                    "the authorization endpoint redirected with an error",
                )
