"""Helpers of the reference Server tests: a live server on a loopback port, strict checks of
every response against the generated OpenAPI's definitions, and a Client that walks the
registration → data path of DESIGN.md.
"""

from __future__ import annotations

import functools
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jsonschema
import uvicorn
from cds_conformance.runner import basic, bearer, pkce
from cdsgen import model as m
from cdsgen.schemas import SchemaBuilder

#: Statuses any operation may answer with an OAuth error body, declared or not.
ERROR_STATUSES = {400, 401, 403, 404, 405, 413, 415, 429}


#: The sandbox password of every Customer (their username is their customer number).
SANDBOX_PASSWORD = "sandbox"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(db: Path, *, page_size: int = 100, limits: Any = None) -> Iterator[str]:
    """Serve the reference Server with uvicorn on 127.0.0.1 (a free port) in a thread; rate
    limits off unless ``limits`` are given (suites drive many requests from one address)."""
    from cdsgen.server import create_app
    from cdsgen.server.ratelimit import UNLIMITED

    app = create_app(db, page_size=page_size, limits=limits or UNLIMITED)
    with serve_app(app) as url:
        yield url


class PageForm(HTMLParser):
    """The first ``<form>`` of a page: its action, hidden inputs, text and password fields,
    checkboxes and submit buttons (the consent contract's vocabulary)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.fields: list[str] = []
        self.checkboxes: list[tuple[str, str]] = []
        self.buttons: list[tuple[str, str]] = []
        self._inside = False
        self._done = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._inside = True
            self.action = a.get("action")
        if not self._inside:
            return
        kind = a.get("type", "text")
        if tag == "input" and kind == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "input" and kind == "checkbox":
            self.checkboxes.append((a["name"], a["value"]))
        elif tag == "input" and kind in ("text", "password"):
            self.fields.append(a["name"])
        elif tag == "button" and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True


@functools.cache
def _sandbox() -> Any:
    from cdsgen.server import seed
    from cdsgen.server.access import Sandbox

    return Sandbox.from_docs(seed.sample_data())


def sandbox_customer_of(picks: list[str]) -> str:
    """The sandbox Customer whose data ``picks`` (ids of a Selection kind) are."""
    from cdsgen.server import access

    sandbox = _sandbox()
    numbers = sorted({a["customer_number"] for a in sandbox.objects["accounts"].values()})
    for number in numbers:
        own = access.customer_objects(sandbox, number)
        if any(set(picks) <= ids for ids in own.values()):
            return number
    raise ValueError(f"no single sandbox Customer owns {picks}")


def approve_consent(
    browser: httpx.Client,
    url: str,
    username: str,
    picks: list[str] | None = None,
    decision: str = "approve",
) -> httpx.Response:
    """Drive the consent pages at ``url`` as the contract describes: on each form fill the
    hidden inputs, the credential fields, the wanted ``pick`` boxes (``None``: the first
    offered) and the ``decision``, keeping cookies, until the Server redirects elsewhere.
    The final response (a 303 to the redirect URI, or an error page)."""
    page = browser.get(url, follow_redirects=True)  # an authorization URL leads there
    for _ in range(4):
        if page.status_code != 200:
            return page
        form = PageForm(page.text)
        assert form.action, page.text
        data: dict[str, Any] = dict(form.hidden)
        if "username" in form.fields:
            data.update(username=username, password=SANDBOX_PASSWORD)
        offered = [value for name, value in form.checkboxes if name == "pick"]
        if offered:
            data["pick"] = (
                (offered[:1] if picks is None else picks) if decision == "approve" else []
            )
        if any(name == "decision" for name, _ in form.buttons):
            data["decision"] = decision
        action = urljoin(str(page.url), form.action)
        answer = browser.post(action, data=data)
        if answer.status_code != 303:
            return answer
        target = urljoin(action, answer.headers["location"])
        if not target.startswith(urljoin(action, "/oauth/consent/")):
            return answer
        page = browser.get(target)
    raise AssertionError("the consent pages did not come to a decision")


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

    def decide(
        self, consent_url: str, picks: list[str], decision: str = "approve"
    ) -> httpx.Response:
        """The Customer owning ``picks`` (or the first sandbox Customer) signs in on the
        consent page at ``consent_url`` and decides; the redirect back to the Client."""
        customer = sandbox_customer_of(picks) if picks else "C-100234"
        with httpx.Client() as browser:
            return approve_consent(browser, consent_url, customer, picks, decision)

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
        with httpx.Client() as browser:
            decided = approve_consent(browser, consent, sandbox_customer_of(picks), picks)
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


def credentials_for(security: list[dict[str, list[str]]] | None, credentials: dict) -> dict:
    """The headers of the credentials an operation with ``security`` accepts."""
    if not security:
        return {}
    if any("clientBasic" in s for s in security):
        return credentials["basic"]
    scopes = {scope for s in security for scope in s.get("oauth2", [])}
    if "cds_client_admin" in scopes:
        return credentials["admin"]
    if "cds_server_provided_files" in scopes:
        return credentials["files"]
    return credentials["data"]


def fuzz_credentials(w: Walker) -> dict[str, dict[str, str]]:
    """Headers that pass each kind of operation's authentication, for fuzzers: a Client Admin
    token, a token for every direct-access scope, a Server-Provided Files token (through Grant
    Admin) and the registration's Basic credentials. Registers ``w`` for every scope."""
    import json

    from cdsgen.server.catalog import SCOPES

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
    return {
        "admin": bearer(w.admin_token),
        "data": bearer(data),
        "files": bearer(files),
        "basic": basic(w.registration["client_id"], w.registration["client_secret"]),
    }
