"""Helpers of the reference Server tests: a live server on a loopback port, strict checks of
every response against the generated OpenAPI's definitions, and a Client that walks the
registration → data path of DESIGN.md.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import uvicorn
from cdsgen import model as m
from cdsgen.emit.schemas import SchemaBuilder

#: Statuses any operation may answer with an OAuth error body, declared or not.
ERROR_STATUSES = {400, 401, 403, 404, 405, 413}


@contextmanager
def live_server(db: Path, *, page_size: int = 100) -> Iterator[str]:
    """Serve the reference Server with uvicorn on 127.0.0.1 (a free port) in a thread."""
    from cdsgen.server import create_app

    with serve_app(create_app(db, page_size=page_size)) as url:
        yield url


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI application with uvicorn on 127.0.0.1 (a free port) in a thread."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the reference Server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class StrictResponses:
    """Checks responses against the strict schemas of the generated OpenAPI (known fields and
    enumeration values only), as a Server must emit them."""

    def __init__(self, spec: m.Spec):
        self.spec = spec
        self.builder = SchemaBuilder(spec, strict=True, ref_prefix="#/$defs/")
        self.defs = self.builder.components()
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}
        self.checked: dict[str, set[int]] = {}

    def validator(self, name: str) -> jsonschema.Draft202012Validator:
        if name not in self._validators:
            schema = {"$ref": f"#/$defs/{name}", "$defs": self.defs}
            self._validators[name] = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[name]

    def errors(self, name: str, value: Any) -> list[str]:
        out = []
        for err in self.validator(name).iter_errors(value):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            out.append(f"${where}: {err.message[:300]}")
        return out

    def check(self, operation_id: str, response: httpx.Response) -> httpx.Response:
        """Assert that ``response`` is one the operation may give, with a strictly valid body."""
        ep = self.spec.endpoints[operation_id]
        status = response.status_code
        declared = {r.status: r for r in ep.responses}
        assert status < 500, f"{operation_id}: {status} {response.text[:500]}"
        assert status in declared or status in ERROR_STATUSES, (
            f"{operation_id}: undeclared status {status}"
        )
        self.checked.setdefault(operation_id, set()).add(status)
        r = declared.get(status)
        if r is not None and r.type is not None:
            name = str(r.type)
        elif status >= 400:
            name = "OAuthError"
        else:
            return response
        media = response.headers.get("content-type", "").split(";")[0]
        expected = r.content_type if r is not None and r.type is not None else "application/json"
        assert media == expected, f"{operation_id}: content type {media}, expected {expected}"
        problems = self.errors(name, response.json())
        assert not problems, f"{operation_id} {status} is not a strict {name}:\n" + "\n".join(
            problems[:20]
        )
        if status == 401:
            assert response.headers.get("www-authenticate"), (
                f"{operation_id}: 401 without WWW-Authenticate"
            )
        return response


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


class Walker:
    """A Client of the reference Server that only uses URLs it discovered, checking every
    response strictly. ``call(operation_id, method, url, ...)`` is the one way it talks."""

    def __init__(self, base: str, strict: StrictResponses):
        self.base = base
        self.strict = strict
        self.http = httpx.Client(timeout=60, follow_redirects=False)
        self.metadata: dict[str, Any] = {}
        self.oauth: dict[str, Any] = {}
        self.registration: dict[str, Any] = {}
        self.admin_token = ""

    def call(self, operation_id: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.strict.check(operation_id, self.http.request(method, url, **kwargs))

    def discover(self) -> None:
        self.metadata = self.call(
            "getServerMetadata", "GET", f"{self.base}/.well-known/cds-server-metadata.json"
        ).json()
        self.oauth = self.call(
            "getAuthorizationServerMetadata", "GET", self.metadata["oauth_metadata"]
        ).json()

    def register(self, scopes: list[str], **fields: Any) -> dict[str, Any]:
        if not self.oauth:
            self.discover()
        body = {
            "scope": " ".join(["cds_client_admin", *scopes]),
            "client_name": "Test App",
            **fields,
        }
        r = self.call("registerClient", "POST", self.oauth["registration_endpoint"], json=body)
        assert r.status_code == 201, r.text
        self.registration = r.json()
        token = self.call(
            "requestToken",
            "POST",
            self.oauth["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
            headers=basic(self.registration["client_id"], self.registration["client_secret"]),
        )
        assert token.status_code == 200, token.text
        self.admin_token = token.json()["access_token"]
        return self.registration

    def admin(self, operation_id: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **bearer(self.admin_token)}
        return self.call(operation_id, method, url, headers=headers, **kwargs)

    def clients(self) -> list[dict[str, Any]]:
        r = self.admin("listClients", "GET", self.oauth["cds_clients_api"])
        return r.json()["clients"]

    def client_with(self, scope_id: str) -> dict[str, Any]:
        return next(c for c in self.clients() if scope_id in c["scope"].split())

    def secret_of(self, client_id: str) -> str:
        r = self.admin(
            "listCredentials",
            "GET",
            self.oauth["cds_credentials_api"],
            params={"client_ids": client_id},
        )
        return r.json()["credentials"][0]["client_secret"]

    def client_oauth(self, client: dict[str, Any]) -> dict[str, Any]:
        """A Client Object's own authorization server metadata (via its server metadata)."""
        meta = self.admin("getClientServerMetadata", "GET", client["cds_server_metadata"]).json()
        return self.admin(
            "getClientAuthorizationServerMetadata", "GET", meta["oauth_metadata"]
        ).json()

    def data_token(
        self, scope_id: str, *, scope: str | None = None, authorization_details: list | None = None
    ) -> dict[str, Any]:
        """A ``client_credentials`` token for a scope, from the token endpoint its Client
        Object's own metadata names."""
        client = self.client_with(scope_id)
        oauth = self.client_oauth(client)
        form = {"grant_type": "client_credentials", "scope": scope or scope_id}
        if authorization_details is not None:
            import json

            form["authorization_details"] = json.dumps(authorization_details)
        r = self.call(
            "requestToken",
            "POST",
            oauth["token_endpoint"],
            data=form,
            headers=basic(client["client_id"], self.secret_of(client["client_id"])),
        )
        assert r.status_code == 200, r.text
        return {**r.json(), "oauth": oauth, "client": client}

    def consent_token(self, scope_id: str, picks: list[str]) -> dict[str, Any]:
        """A token for a customer-consent scope: PKCE authorization request, the consent page
        (the Customer picks ``picks``, ids of the scope's Selection), the code at the redirect
        URI, then the token endpoint — all from discovered URLs."""
        client = self.client_with(scope_id)
        oauth = self.client_oauth(client)
        secret = self.secret_of(client["client_id"])
        verifier, challenge = pkce()
        state = secrets.token_hex(8)
        params = {
            "response_type": "code",
            "client_id": client["client_id"],
            "scope": scope_id,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        r = self.call("authorize", "GET", oauth["authorization_endpoint"], params=params)
        assert r.status_code == 302, r.text
        consent = r.headers["location"]
        page = self.http.get(consent)
        assert page.status_code == 200 and "<form" in page.text
        decided = self.http.post(consent, data={"decision": "approve", "pick": picks})
        assert decided.status_code == 303, decided.text
        target = decided.headers["location"]
        assert target.startswith(client["cds_default_redirect_uri"])
        query = parse_qs(urlsplit(target).query)
        assert query["state"] == [state]
        receipt = self.http.get(target)
        assert receipt.status_code == 200 and query["code"][0] in receipt.text
        r = self.call(
            "requestToken",
            "POST",
            oauth["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "code_verifier": verifier,
            },
            headers=basic(client["client_id"], secret),
        )
        assert r.status_code == 200, r.text
        return {**r.json(), "oauth": oauth, "client": client, "secret": secret}
