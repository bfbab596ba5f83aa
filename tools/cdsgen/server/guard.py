"""The HTTP guard in front of the reference Server: what is checked before any credentials.

An ASGI middleware, so it runs before the generated stubs authenticate or read anything:

* **One public base URL.** Every URL the Server writes (issuer, metadata, redirect URIs,
  ``next`` links) comes from ``public_url``; the request's ``Host`` header and any
  ``X-Forwarded-*`` header are overwritten, so a forged host cannot move an authorization
  code elsewhere (RFC 9700 §4.1). Proxy headers only set the client address, and only
  when the Server is started with them (uvicorn's ``proxy_headers``).
* **Limits before authentication**: query string and parameter length, body size (the
  Messages API allows attachments of at least 10 MB, CDS-WG1-02 §6.9, so it gets more),
  body media type (415), JSON nesting depth and strict JSON types (no ``true`` for an
  integer), rate limits of the open endpoints (429 with ``Retry-After``).
* **HTTP details**: HEAD for every GET, a complete ``Allow`` header on 405, undocumented
  query parameters refused with 400 (a misspelt filter would otherwise widen the answer
  silently, and the parameter would be copied into ``next`` links).
* **Response headers**: ``Cache-Control: no-store`` wherever tokens, codes or secrets can
  be returned (RFC 6749 §5.1), no framing (``X-Frame-Options``, CSP ``frame-ancestors``),
  no MIME sniffing, no referrer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cdsgen.server import routes
from cdsgen.server.ratelimit import Buckets

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Sizes:
    """Input size limits, applied before authentication."""

    body: int = 64 * 1024
    """Any request body but a Message's."""
    message_body: int = 20 * 1024 * 1024
    """A Message's: 12 MB of attachments (at least 10 MB, CDS-WG1-02 §6.9) as Base64."""
    json_depth: int = 32
    query: int = 8 * 1024
    parameter: int = 2048


#: The Server's own pages (not in the OpenAPI): path pattern → methods served.
PAGES: dict[str, tuple[str, ...]] = {
    r"/(docs)?": ("GET",),
    r"/oauth/consent/[^/]+": ("GET", "POST"),
    r"/oauth/default-redirect/[^/]+": ("GET",),
    r"/sample-bills/[^/]+\.pdf": ("GET",),
    r"/sample-eacs/[^/]+\.json": ("GET",),
}
_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_SECRET_PATHS = ("/oauth/", "/cds-api/v1/credentials")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def public_origin(url: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of a public base URL; ``ValueError`` for anything else."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ValueError(f"a public URL is http(s)://host[:port] without a path, not {url!r}")
    return parts.scheme, parts.netloc


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


class Guard:
    """The middleware; ``public_url`` is ``scheme://host[:port]`` without a path, or ``None``
    for ``http://`` and the address and port the connection was accepted on (never the
    ``Host`` header)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        public_url: str | None,
        buckets: Buckets,
        sizes: Sizes | None = None,
    ):
        self.app = app
        self.scheme, self.host = "http", None
        if public_url is not None:
            self.scheme, host = public_origin(public_url)
            self.host = host.encode("latin-1")
        self.buckets = buckets
        self.sizes = sizes or Sizes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self._public(scope)
        method, path = scope["method"], scope["path"]
        who = (scope.get("client") or ("unknown",))[0]
        route = routes.find(method, path)
        problem = self._query_problem(scope, route)
        if problem:
            await _error(send, 400, problem)
            return
        bucket = _bucket(method, route, path)
        if bucket is not None:
            wait = self.buckets.retry_after(bucket, who)
            if wait is not None:
                await _error(send, 429, "Too many requests; try again later.", wait)
                return
            if bucket != "failed_token":
                await run_in_threadpool(self.buckets.take, bucket, who)
        if method in _WITH_BODY:
            limit = self.sizes.body
            if route is not None and route.operation.operation_id == "createMessage":
                limit = self.sizes.message_body
            body, status, problem = await self._body(scope, receive, route, limit)
            if problem:
                await _error(send, status, problem)
                return
            receive = _replay(body, receive)
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def respond(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if bucket == "failed_token" and status in (400, 401):
                    await run_in_threadpool(self.buckets.take, bucket, who)
                message["headers"] = self._headers(message.get("headers", []), path, status)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, respond)

    # -- the parts -------------------------------------------------------------------------
    def _public(self, scope: Scope) -> Scope:
        host = self.host
        if host is None:
            address, port = scope.get("server") or ("127.0.0.1", 80)
            address = f"[{address}]" if ":" in address else address
            host = f"{address}:{port}".encode("latin-1")
        headers = [
            (k, v) for k, v in scope["headers"] if k != b"host" and not k.startswith(b"x-forwarded")
        ]
        headers.append((b"host", host))
        return {**scope, "scheme": self.scheme, "headers": headers}

    def _query_problem(self, scope: Scope, route: routes.Route | None) -> str | None:
        raw = scope.get("query_string", b"")
        if len(raw) > self.sizes.query:
            return f"The query string is longer than {self.sizes.query} bytes."
        if route is None:
            return None
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return "The query string is not UTF-8."
        for name, value in pairs:
            if len(value) > self.sizes.parameter or len(name) > self.sizes.parameter:
                return f"`{name[:64]}`: longer than {self.sizes.parameter} characters."
            if route.query is not None and name not in route.query:
                known = ", ".join(sorted(route.query)) or "none"
                return (
                    f"`{name[:64]}`: not a query parameter of "
                    f"{route.operation.operation_id} (known: {known})."
                )
        return None

    async def _body(
        self, scope: Scope, receive: Receive, route: routes.Route | None, limit: int
    ) -> tuple[bytes, int, str | None]:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            return b"", 413, f"The request body is larger than {limit} bytes."
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", 413, f"The request body is larger than {limit} bytes."
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if route is None or route.body is None:
            return body, 200, None
        media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        expected = "application/json" if route.body == "json" else _FORM
        if media != expected:
            return body, 415, f"The body must be {expected}, not {media or 'untyped'}."
        if route.body == "json":
            return body, 400, self._json_problem(body, route)
        return body, 200, None

    def _json_problem(self, body: bytes, route: routes.Route) -> str | None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return f"The body is not valid JSON: {error}"
        if depth(data) > self.sizes.json_depth:
            return f"The body nests deeper than {self.sizes.json_depth} levels."
        if not isinstance(data, dict):
            return None  # the stubs answer this one
        model = routes.JSON_BODIES[route.operation.operation_id]
        try:
            model.model_validate_json(body, strict=True)
        except ValidationError as strict:
            try:
                model.model_validate(data)
            except ValidationError:
                return None  # invalid in any mode: the stubs name the problem
            first = strict.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return f"`{where}`: {first['msg']} (JSON types are not converted)"
        return None

    def _headers(self, headers: list[tuple[bytes, bytes]], path: str, status: int) -> list:
        names = {k.lower() for k, _ in headers}
        out = list(headers)
        html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
        out += [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if self.scheme == "https":  # browsers keep to TLS for this host (RFC 6797)
            out.append((b"strict-transport-security", b"max-age=31536000"))
        if b"content-security-policy" not in names:
            policy = _HTML_POLICY if html else "frame-ancestors 'none'"
            out.append((b"content-security-policy", policy.encode()))
        if any(part in path for part in _SECRET_PATHS) and b"cache-control" not in names:
            out += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
        if status == 405:
            allow = ", ".join(routes.allowed(path, PAGES)).encode()
            out = [(k, v) for k, v in out if k.lower() != b"allow"] + [(b"allow", allow)]
        return out


_FORM = "application/x-www-form-urlencoded"


def _bucket(method: str, route: routes.Route | None, path: str) -> str | None:
    if route is not None and route.operation.operation_id == "registerClient":
        return "registration"
    if route is not None and route.operation.operation_id == "requestToken":
        return "failed_token"
    if method == "POST" and path.startswith("/oauth/consent/"):
        return "consent"
    return None


def _replay(body: bytes, then: Receive) -> Receive:
    """The body the guard read, once; afterwards the connection's own messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _error(send: Send, status: int, description: str, retry_after: int | None = None) -> None:
    """An OAuth-style JSON error, answered by the guard itself."""
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
