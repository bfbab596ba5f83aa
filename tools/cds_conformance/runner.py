"""One conformance run: options, the state a Client builds up while it works (metadata,
registration, tokens), and how each check is executed and recorded.

Checks run inside :meth:`Run.checking`; what a check needs first (a token, the Client
Objects, …) comes from the :class:`Run` helpers, which raise :class:`Unavailable` when a step
before them did not work — the check is then *skipped* with that reason, never failed twice.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from cds_conformance.consent import ConsentError, ConsentHook, ConsentRequest
from cds_conformance.model import FAILED, PASSED, SKIPPED, WARNED, Check, Outcome, Report
from cds_conformance.rules import Rules, load_rules
from cds_conformance.transport import BudgetExhausted, ServerTimeout, Transport, redact

WELL_KNOWN = "/.well-known/cds-server-metadata.json"
CLIENT_NAME = "cds-conformance"
#: Exchanges kept as evidence per failed check (the last ones, where a check made more).
MAX_EVIDENCE = 200


@dataclass
class Options:
    """How to run; every field has a safe default for a real Server."""

    #: Client Admin credentials when registration is not open (else env CDS_CLIENT_ID/SECRET).
    client_id: str | None = None
    client_secret: str | None = None
    consent: ConsentHook | None = None
    #: Redirect URI to use in authorization requests (default: the Client Object's default).
    redirect_uri: str | None = None
    #: fnmatch patterns of check ids or groups to run (default: all).
    only: list[str] = field(default_factory=list)
    max_requests: int = 5000
    rate: float = 20.0  # requests per second; 0 = unlimited
    timeout: float = 30.0
    max_pages: int = 200
    verify_tls: bool = True
    progress: Callable[[str, list[Outcome], bool], None] | None = None
    #: Called after every check (the CLI redraws its live line with it).
    on_outcome: Callable[[Outcome], None] | None = None

    def selects(self, check: Check) -> bool:
        if not self.only:
            return True
        return any(
            fnmatch.fnmatchcase(check.id, p) or fnmatch.fnmatchcase(check.group, p)
            for p in self.only
        )


class Unavailable(Exception):
    """A step a check depends on could not be done."""


class _Failed(Exception):
    pass


class _Skipped(Exception):
    pass


class _Stop(Exception):
    """The whole run must stop (budget, timeout)."""


class CheckContext:
    """What a running check uses to judge."""

    def __init__(self, run: Run, outcome: Outcome):
        self.run = run
        self.outcome = outcome
        self.warnings: list[str] = []

    def fail(self, message: str) -> None:
        raise _Failed(message)

    def expect(self, condition: Any, message: str) -> None:
        if not condition:
            raise _Failed(message)

    def skip(self, reason: str) -> None:
        raise _Skipped(reason)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        if message not in self.outcome.notes and len(self.outcome.notes) < 50:
            self.outcome.notes.append(message)

    def status(self, response: httpx.Response, *expected: int, what: str = "") -> None:
        if response.status_code not in expected:
            want = " or ".join(str(s) for s in expected)
            self.fail(
                f"{what or response.request.method + ' ' + _short_url(response)}: "
                f"{response.status_code} instead of {want}: {response.text[:300]}"
            )

    def json(self, response: httpx.Response, *, what: str = "") -> Any:
        try:
            return response.json()
        except ValueError:
            self.fail(f"{what or _short_url(response)}: the body is not JSON")

    def strict(self, type_name: str, value: Any, *, what: str) -> list[str]:
        """Fail on schema problems; notes for forward-compatible ones. Returns the
        invariant problems for the caller to judge."""
        verdict = self.run.rules.judge(type_name, value)
        for n in verdict.notes[:10]:
            self.note(f"{what}: {n} (unknown to this version; information only)")
        if verdict.failures:
            self.fail(f"{what} is not a valid {type_name}: " + "; ".join(verdict.failures[:8]))
        return verdict.invariants


def _short_url(response: httpx.Response) -> str:
    return str(response.request.url).split("?", 1)[0]


class Run:
    def __init__(self, url: str, options: Options | None = None, rules: Rules | None = None):
        self.base = url.rstrip("/")
        self.options = options or Options()
        self.rules = rules or load_rules()
        self.http = Transport(
            budget=self.options.max_requests,
            rate=self.options.rate,
            timeout=self.options.timeout,
            verify=self.options.verify_tls,
        )
        self.outcomes: list[Outcome] = []
        self.aborted: str | None = None
        self._cache: dict[Any, Any] = {}
        self._grants = 0
        #: Answers some checks judge after a helper obtained them (registration, admin token).
        self.responses: dict[str, httpx.Response] = {}
        #: Every token endpoint answer of the run (for the no-store check).
        self.token_responses: list[httpx.Response] = []
        #: What one check leaves for the next (e.g. the code the reuse check replays).
        self.state: dict[str, Any] = {}

    # -- executing checks ----------------------------------------------------------------------
    @contextmanager
    def checking(self, check: Check) -> Iterator[CheckContext | None]:
        """Run the block as ``check``; yields None (and runs nothing) when not selected."""
        if self.aborted or not self.options.selects(check):
            yield None
            return
        outcome = Outcome(check, PASSED)
        ctx = CheckContext(self, outcome)
        started = time.monotonic()
        self.http.recording = outcome.exchanges
        try:
            yield ctx
        except _Failed as exc:
            outcome.status, outcome.message = FAILED, str(exc)
        except _Skipped as exc:
            outcome.status, outcome.message = SKIPPED, str(exc)
        except Unavailable as exc:
            outcome.status, outcome.message = SKIPPED, f"cannot run: {exc}"
        except (BudgetExhausted, ServerTimeout) as exc:
            outcome.status, outcome.message = FAILED, str(exc)
            if isinstance(exc, BudgetExhausted) or getattr(exc, "fatal", False):
                self.aborted = str(exc)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            # an answer without what the documents promise in it: the Server's failure
            outcome.status = FAILED
            outcome.message = (
                f"the Server's answer lacks what the check reads: {type(exc).__name__} {exc}"
            )
        else:
            if ctx.warnings:  # a SHOULD not met warns; for a MUST it is a failure
                outcome.message = "; ".join(ctx.warnings)
                outcome.status = WARNED if check.level == "SHOULD" else FAILED
        finally:
            self.http.recording = None
            outcome.seconds = time.monotonic() - started
            # evidence is kept for failures only, and only redacted
            if outcome.status == FAILED:
                outcome.exchanges = [redact(e) for e in outcome.exchanges[-MAX_EVIDENCE:]]
            else:
                outcome.exchanges = []
        self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.options.on_outcome is not None:
            self.options.on_outcome(outcome)

    def skip(self, check: Check, reason: str) -> None:
        """Record a check the Server's advertised profile does not call for."""
        if self.options.selects(check) and not self.aborted:
            self._record(Outcome(check, SKIPPED, reason))

    def report(self, started: str, seconds: float) -> Report:
        return Report(
            self.base, self.outcomes, self.http.sent, seconds, started, aborted=self.aborted
        )

    # -- discovery -------------------------------------------------------------------------------
    def _once(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = make()
            except Unavailable as exc:
                self._cache[key] = exc
            except ServerTimeout as exc:
                if exc.fatal:
                    raise
                self._cache[key] = Unavailable(str(exc))
        value = self._cache[key]
        if isinstance(value, Unavailable):
            raise value
        return value

    def get_json(self, url: str, what: str, **kwargs: Any) -> Any:
        r = self.http.get(url, **kwargs)
        if r.status_code != 200:
            raise Unavailable(f"{what} ({url.split('?')[0]}) answered {r.status_code}")
        try:
            return r.json()
        except ValueError:
            raise Unavailable(f"{what} is not JSON") from None

    @property
    def metadata_url(self) -> str:
        return self.base + WELL_KNOWN

    @property
    def metadata(self) -> dict[str, Any]:
        return self._once(
            "metadata", lambda: _obj(self.get_json(self.metadata_url, "server metadata"))
        )

    @property
    def oauth(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            url = self.metadata.get("oauth_metadata")
            if not isinstance(url, str):
                raise Unavailable("the server metadata names no oauth_metadata")
            return _obj(self.get_json(url, "authorization server metadata"))

        return self._once("oauth", make)

    def scope_ids_of_type(self, *types: str) -> list[str]:
        descriptions = self.oauth.get("cds_scope_descriptions") or {}
        return [
            sid for sid, d in descriptions.items() if isinstance(d, dict) and d.get("type") in types
        ]

    def description(self, scope_id: str) -> dict[str, Any]:
        return (self.oauth.get("cds_scope_descriptions") or {}).get(scope_id) or {}

    # -- registration ----------------------------------------------------------------------------
    @property
    def registration(self) -> dict[str, Any]:
        """The Client Admin credentials: a registration of our own where registration is
        open, else the credentials given in options or the environment."""

        def make() -> dict[str, Any]:
            client_id = self.options.client_id or os.environ.get("CDS_CLIENT_ID")
            secret = self.options.client_secret or os.environ.get("CDS_CLIENT_SECRET")
            if client_id and secret:
                return {"client_id": client_id, "client_secret": secret, "registered": False}
            endpoint = self.oauth.get("registration_endpoint")
            if not endpoint:
                raise Unavailable(
                    "registration is not open and no client credentials were given "
                    "(--client-id/--client-secret or CDS_CLIENT_ID/CDS_CLIENT_SECRET)"
                )
            scopes = [s for s in self.oauth.get("scopes_supported") or [] if isinstance(s, str)]
            body = {"scope": " ".join(scopes), "client_name": CLIENT_NAME}
            r = self.http.post(endpoint, json=body)
            self.responses["registration"] = r
            if r.status_code != 201:
                raise Unavailable(f"registration answered {r.status_code}: {r.text[:200]}")
            reg = _obj(r.json())
            if not reg.get("client_id") or not reg.get("client_secret"):
                raise Unavailable("the registration response has no client_id/client_secret")
            return {**reg, "registered": True}

        return self._once("registration", make)

    @property
    def admin_token(self) -> str:
        def make() -> str:
            reg = self.registration
            admin_scopes = self.scope_ids_of_type("cds_client_admin") or ["cds_client_admin"]
            r = self.token_request(
                self.oauth.get("token_endpoint"),
                {"grant_type": "client_credentials", "scope": admin_scopes[0]},
                reg["client_id"],
                reg["client_secret"],
            )
            self.responses["admin_token"] = r
            if r.status_code != 200:
                raise Unavailable(f"the Client Admin token request answered {r.status_code}")
            return str(r.json().get("access_token"))

        return self._once("admin_token", make)

    def token_request(
        self, endpoint: Any, form: dict[str, Any], client_id: str, secret: str
    ) -> httpx.Response:
        if not isinstance(endpoint, str):
            raise Unavailable("no token endpoint advertised")
        r = self.http.post(endpoint, data=form, headers=basic(client_id, secret))
        self.token_responses.append(r)
        return r

    def admin_get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, headers=bearer(self.admin_token), **kwargs)

    def all_items(self, url: str, key: str, token: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        r = self.http.get(url, headers=bearer(token), params=params or None)
        for _ in range(self.options.max_pages):
            if r.status_code != 200:
                raise Unavailable(f"{url.split('?')[0]} answered {r.status_code}")
            body = r.json()
            items += body.get(key) or []
            if not body.get("next"):
                return items
            r = self.http.get(body["next"], headers=bearer(token))
        raise Unavailable(f"{url} has more than {self.options.max_pages} pages")

    @property
    def clients(self) -> list[dict[str, Any]]:
        def make() -> list[dict[str, Any]]:
            api = self.oauth.get("cds_clients_api")
            if not api:
                raise Unavailable("no cds_clients_api advertised")
            return self.all_items(api, "clients", self.admin_token)

        return self._once("clients", make)

    def client_for(self, scope_id: str) -> dict[str, Any]:
        for c in self.clients:
            if scope_id in str(c.get("scope", "")).split():
                return c
        raise Unavailable(f"no Client Object of ours holds scope {scope_id}")

    def secret_of(self, client_id: str) -> str:
        def make() -> str:
            if client_id == self.registration["client_id"]:
                return self.registration["client_secret"]
            api = self.oauth.get("cds_credentials_api")
            if not api:
                raise Unavailable("no cds_credentials_api advertised")
            creds = self.all_items(api, "credentials", self.admin_token, client_ids=client_id)
            for c in creds:
                if c.get("client_id") == client_id and c.get("client_secret"):
                    return str(c["client_secret"])
            raise Unavailable(f"the Credentials API lists no secret for {client_id}")

        return self._once(("secret", client_id), make)

    def client_oauth(self, client: dict[str, Any]) -> dict[str, Any]:
        """A Client Object's own authorization server metadata (through its own server
        metadata), or the Server's when the Client Object names none."""

        def make() -> dict[str, Any]:
            url = client.get("cds_server_metadata")
            if not url:
                return self.oauth
            meta = _obj(self.get_json(url, "client-specific server metadata", **_admin(self)))
            oauth_url = meta.get("oauth_metadata")
            if not oauth_url:
                raise Unavailable("the client-specific server metadata names no oauth_metadata")
            return _obj(self.get_json(oauth_url, "client-specific oauth metadata", **_admin(self)))

        return self._once(("client_oauth", client.get("client_id")), make)

    # -- data tokens -----------------------------------------------------------------------------
    def _data_scopes(self, grant_type: str) -> list[str]:
        """Customer-data scopes (types CDS-WG3-01 defines) offering ``grant_type``."""
        out = []
        for sid, d in (self.oauth.get("cds_scope_descriptions") or {}).items():
            scope = self.rules.spec.scopes.get(str(d.get("type")))
            if (
                scope is not None
                and scope.document == "cds-wg3-01"
                and grant_type in (d.get("grant_types_supported") or [])
            ):
                out.append(sid)
        return out

    def direct_scopes(self) -> list[str]:
        return self._data_scopes("client_credentials")

    def consent_scopes(self) -> list[str]:
        return self._data_scopes("authorization_code")

    def offers(self, scope_id: str, field_id: str) -> bool:
        """Whether the scope's description offers an authorization details field."""
        return any(
            isinstance(f, dict) and f.get("id") == field_id
            for f in self.description(scope_id).get("authorization_details_fields_supported") or []
        )

    def cc_token(self, scope_id: str, details: list[dict[str, Any]] | None = None) -> dict:
        """A client_credentials token for a direct-access scope (cached per details)."""
        key = ("cc", scope_id, json.dumps(details, sort_keys=True))

        def make() -> dict[str, Any]:
            client = self.client_for(scope_id)
            oauth = self.client_oauth(client)
            form = {"grant_type": "client_credentials", "scope": scope_id}
            if details is not None:
                form["authorization_details"] = json.dumps(details)
            r = self.token_request(
                oauth.get("token_endpoint"),
                form,
                client["client_id"],
                self.secret_of(client["client_id"]),
            )
            if r.status_code != 200:
                raise Unavailable(f"token request for {scope_id} answered {r.status_code}")
            return {**r.json(), "oauth": oauth, "client": client}

        return self._once(key, make)

    def authorization(
        self, scope_id: str, *, fresh: bool = False, redirect_uri: str | None = None
    ) -> dict[str, Any]:
        """An authorization code for a customer-consent scope, from the consent hook:
        ``code``, ``verifier``, ``redirect_uri`` and the Client Object's details."""
        hook = self.options.consent
        if hook is None:
            raise Unavailable(
                "customer consent needs a consent hook (--consent reference, "
                "--consent-command CMD or --interactive)"
            )
        client = self.client_for(scope_id)
        oauth = self.client_oauth(client)
        redirect = (
            redirect_uri
            or self.options.redirect_uri
            or client.get("cds_default_redirect_uri")
            or (client.get("redirect_uris") or [None])[0]
        )
        if not redirect:
            raise Unavailable(f"the Client Object for {scope_id} has no redirect URI")
        if redirect not in (client.get("redirect_uris") or []):
            client = self._add_redirect_uri(client, redirect)
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect,
            "scope": scope_id,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        endpoint = oauth.get("authorization_endpoint")
        if not endpoint:
            raise Unavailable("no authorization_endpoint advertised")
        index = self._grants
        self._grants += 1
        request = ConsentRequest(f"{endpoint}?{urlencode(params)}", redirect, scope_id, index)
        try:
            landed = hook(request)
        except ConsentError as exc:
            raise Unavailable(f"consent failed: {exc}") from None
        except Exception as exc:  # a hook of the user's: report, never crash the run
            raise Unavailable(f"the consent hook raised {type(exc).__name__}: {exc}") from None
        query = parse_qs(urlsplit(landed).query)
        if "code" not in query:
            raise Unavailable(f"consent ended without a code: {query.get('error', ['?'])[0]}")
        if query.get("state") != [state]:
            raise Unavailable("the redirect carries another state than the request's")
        return {
            "code": query["code"][0],
            "verifier": verifier,
            "redirect_uri": redirect,
            "client": client,
            "oauth": oauth,
            "secret": self.secret_of(client["client_id"]),
        }

    def _add_redirect_uri(self, client: dict[str, Any], redirect: str) -> dict[str, Any]:
        """Add our loopback redirect URI to our own Client Object (a change a Client may
        make, CDS-WG1-02 §5.5), once."""

        def make() -> dict[str, Any]:
            uri = client.get("cds_client_uri")
            if not uri:
                raise Unavailable("the Client Object has no cds_client_uri to add a redirect")
            body = {"redirect_uris": [*(client.get("redirect_uris") or []), redirect]}
            r = self.http.request("PUT", uri, json=body, headers=bearer(self.admin_token))
            if r.status_code not in (200, 202):
                raise Unavailable(f"adding redirect URI {redirect} answered {r.status_code}")
            return r.json() if r.status_code == 200 else client

        return self._once(("redirect", client.get("client_id"), redirect), make)

    def exchange(self, grant: dict[str, Any], **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": grant["code"],
            "code_verifier": grant["verifier"],
            "redirect_uri": grant["redirect_uri"],
            **overrides,
        }
        return self.token_request(
            grant["oauth"].get("token_endpoint"),
            form,
            grant["client"]["client_id"],
            grant["secret"],
        )

    def consent_token(self, scope_id: str, slot: int) -> dict[str, Any]:
        """A token from a fresh authorization for ``scope_id`` (``slot`` separates grants)."""

        def make() -> dict[str, Any]:
            grant = self.authorization(scope_id)
            r = self.exchange(grant)
            if r.status_code != 200:
                raise Unavailable(f"code exchange for {scope_id} answered {r.status_code}")
            return {**r.json(), "oauth": grant["oauth"], "client": grant["client"]}

        return self._once(("consent", scope_id, slot), make)

    def data_token(
        self, scope_types: list[str], prefer_field: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """(scope id, token) of a scope of one of ``scope_types`` (empty: any customer-data
        scope, preferring one that offers ``prefer_field``), direct access before consent."""
        descriptions = self.oauth.get("cds_scope_descriptions") or {}

        def fits(sid: str) -> bool:
            return not scope_types or (descriptions.get(sid) or {}).get("type") in scope_types

        def rank(sid: str) -> int:
            return 0 if prefer_field and self.offers(sid, prefer_field) else 1

        errors = []
        for sid in sorted((s for s in self.direct_scopes() if fits(s)), key=rank):
            try:
                return sid, self.cc_token(sid)
            except Unavailable as exc:
                errors.append(str(exc))
        for sid in [s for s in self.consent_scopes() if fits(s)]:
            try:
                return sid, self.consent_token(sid, 0)
            except Unavailable as exc:
                errors.append(str(exc))
        raise Unavailable(
            "; ".join(errors) or f"no advertised scope of type {' or '.join(scope_types)}"
        )


def _admin(run: Run) -> dict[str, Any]:
    return {"headers": bearer(run.admin_token)}


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unavailable("expected a JSON object")
    return value


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
