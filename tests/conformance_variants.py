"""Deliberately non-conforming variants of the reference Server, for the conformance suite's
tests and benchmark: one ASGI middleware that, while a :class:`Variant` is active, rewrites
requests or responses to break exactly one MUST of the documents.

Each variant names the check that must catch it and the check ids (fnmatch patterns) to run
so the suite exercises only that group."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

Headers = dict[str, str]
ResponseHook = Callable[[dict, int, Headers, bytes], tuple[int, Headers, bytes]]
RequestHook = Callable[[dict, bytes], tuple[dict, bytes]]


@dataclass
class Variant:
    name: str
    expected: str
    only: tuple[str, ...]
    response: ResponseHook | None = None
    request: RequestHook | None = None
    state: dict[str, Any] = field(default_factory=dict)


class Mutating:
    """ASGI middleware applying the active variant (none: the reference Server as is)."""

    def __init__(self, app: Any):
        self.app = app
        self.variant: Variant | None = None

    def activate(self, variant: Variant | None) -> None:
        if variant is not None:
            variant.state.clear()
        self.variant = variant

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        variant = self.variant
        if scope["type"] != "http" or variant is None:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if variant.request is not None:
            scope, body = variant.request(dict(scope), body)
            scope["headers"] = [
                (k, str(len(body)).encode() if k == b"content-length" else v)
                for k, v in scope["headers"]
            ]
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        status = start["status"]
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        out = b"".join(chunks)
        if variant.response is not None:
            status, headers, out = variant.response(scope, status, headers, out)
        headers["content-length"] = str(len(out))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": out})


# -- building blocks -------------------------------------------------------------------------
def on_json(path_end: str, edit: Callable[[Any], Any], *, status: int = 200) -> ResponseHook:
    """Edit the JSON body of responses with ``status`` on paths ending with ``path_end``."""

    def hook(scope: dict, code: int, headers: Headers, body: bytes):
        if code == status and scope["path"].endswith(path_end) and body:
            doc = json.loads(body)
            new = edit(doc)
            return code, headers, json.dumps(doc if new is None else new).encode()
        return code, headers, body

    return hook


def query_edit(path_end: str, edit: Callable[[list[tuple[str, str]]], list]) -> RequestHook:
    def hook(scope: dict, body: bytes):
        if scope["path"].endswith(path_end):
            pairs = parse_qsl(scope["query_string"].decode(), keep_blank_values=True)
            scope["query_string"] = urlencode(edit(pairs)).encode()
        return scope, body

    return hook


def token_form_edit(edit: Callable[[dict[str, str]], None]) -> RequestHook:
    """Edit the form of token requests (any token endpoint)."""

    def hook(scope: dict, body: bytes):
        if scope["method"] == "POST" and scope["path"].endswith("/token"):
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            edit(form)
            body = urlencode(form).encode()
        return scope, body

    return hook


def drop_details(*names: str) -> RequestHook:
    def edit(form: dict[str, str]) -> None:
        if "authorization_details" in form:
            entries = json.loads(form["authorization_details"])
            for e in entries:
                for n in names:
                    e.pop(n, None)
            form["authorization_details"] = json.dumps(entries)

    return token_form_edit(edit)


def status_swap(path_end: str, old: int, new: int, body: dict) -> ResponseHook:
    def hook(scope: dict, code: int, headers: Headers, out: bytes):
        if code == old and scope["path"].endswith(path_end):
            headers.pop("www-authenticate", None)
            return new, headers, json.dumps(body).encode()
        return code, headers, out

    return hook


def drop_key(key: str) -> Callable[[dict], None]:
    return lambda doc: doc.pop(key, None) and None


def _each(listing: str, edit: Callable[[dict], None]) -> Callable[[dict], None]:
    def run(doc: dict) -> None:
        for item in doc.get(listing) or []:
            edit(item)

    return run


# -- stateful variants -----------------------------------------------------------------------
def replay_codes() -> Variant:
    """A code may be exchanged twice: the first token response is replayed."""
    v = Variant("code-replayed", "wg1-02.token.code-reuse", ("wg1-02.token.code-reuse",))

    def request(scope: dict, body: bytes):
        form = dict(parse_qsl(body.decode()))
        if form.get("grant_type") == "authorization_code":
            scope["cds_code"] = form.get("code")
        return scope, body

    def response(scope: dict, code: int, headers: Headers, out: bytes):
        key = scope.get("cds_code")
        if key is None:
            return code, headers, out
        if code == 200:
            v.state[key] = (code, dict(headers), out)
        elif key in v.state:
            return v.state[key]
        return code, headers, out

    v.request, v.response = request, response
    return v


def shared_grant() -> Variant:
    """Every accounts request is answered with the first token seen there: the second
    grant's token sees the first grant's accounts."""
    v = Variant("grants-share-data", "wg3-01.grant-isolation", ("isolation",))

    def request(scope: dict, body: bytes):
        if scope["path"].endswith("/accounts"):
            auth = dict(scope["headers"]).get(b"authorization")
            if auth:
                first = v.state.setdefault("auth", auth)
                scope["headers"] = [
                    (k, first if k == b"authorization" else val) for k, val in scope["headers"]
                ]
        return scope, body

    v.request = request
    return v


def duplicate_on_later_pages(scope: dict, code: int, headers: Headers, out: bytes):
    if (
        code == 200
        and scope["path"].endswith("/usage-segments")
        and b"cursor=" in (scope["query_string"])
    ):
        doc = json.loads(out)
        if doc["usage_segments"]:
            doc["usage_segments"].append(doc["usage_segments"][0])
        return code, headers, json.dumps(doc).encode()
    return code, headers, out


def _not_a_date(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if not (k == "before" and not v[:1].isdigit())]


def _double_interval(segment: dict) -> None:
    segment["interval"] = segment["interval"] * 2


VARIANTS: list[Variant] = [
    # CDS-WG1-01
    Variant(
        "metadata-without-name",
        "wg1-01.metadata.strict",
        ("discovery",),
        on_json("/cds-server-metadata.json", drop_key("name")),
    ),
    Variant(
        "metadata-url-elsewhere",
        "wg1-01.metadata.self-url",
        ("wg1-01.metadata.*",),
        on_json(
            "/.well-known/cds-server-metadata.json",
            lambda d: d.update(cds_metadata_url=d["cds_metadata_url"] + "?copy=1"),
        ),
    ),
    Variant(
        "coverage-ignores-ids",
        "wg1-01.coverage.filter-ids",
        ("wg1-01.coverage.*",),
        request=query_edit("/cds-coverage.json", lambda pairs: []),
    ),
    Variant(
        "coverage-entry-without-id",
        "wg1-01.coverage.strict",
        ("wg1-01.coverage.strict",),
        on_json("/cds-coverage.json", _each("coverage_entries", lambda e: e.pop("id"))),
    ),
    # CDS-WG1-02: metadata and scope descriptions
    Variant(
        "issuer-with-a-trailing-slash",
        "wg1-02.oauth-metadata.issuer",
        ("wg1-02.oauth-metadata.*",),
        on_json(
            "/.well-known/oauth-authorization-server",
            lambda d: d.update(issuer=d["issuer"] + "/"),
        ),
    ),
    Variant(
        "client-admin-scope-with-code-flow",
        "wg1-02.scope-descriptions.rules",
        ("scopes",),
        on_json(
            "/.well-known/oauth-authorization-server",
            lambda d: d["cds_scope_descriptions"]["cds_client_admin"].update(
                grant_types_supported=["authorization_code"]
            ),
        ),
    ),
    # CDS-WG1-02: registration and client management
    Variant(
        "registration-without-secret",
        "wg1-02.registration.response",
        ("wg1-02.registration.*",),
        on_json("/oauth/register", drop_key("client_secret"), status=201),
    ),
    Variant(
        "client-listing-without-next",
        "wg1-02.clients.list",
        ("wg1-02.clients.list",),
        on_json("/cds-api/v1/clients", drop_key("next")),
    ),
    Variant(
        "client-uri-answers-another-client",
        "wg1-02.clients.get",
        ("wg1-02.clients.get",),
        lambda scope, code, headers, out: (
            on_json("", lambda d: d.update(client_id="someone-else"))(scope, code, headers, out)
            if "/cds-api/v1/clients/" in scope["path"]
            and not scope["path"].endswith(("metadata", "server"))
            else (code, headers, out)
        ),
    ),
    Variant(
        "credentials-withheld",
        "wg1-02.credentials.list",
        ("wg1-02.credentials.*",),
        on_json("/cds-api/v1/credentials", lambda d: d.update(credentials=[])),
    ),
    Variant(
        "client-metadata-missing",
        "wg1-02.clients.server-metadata",
        ("wg1-02.clients.server-metadata",),
        status_swap("/cds-server-metadata", 200, 404, {"error": "not_found"}),
    ),
    Variant(
        "messages-listing-without-unread",
        "wg1-02.messages.list",
        ("wg1-02.messages.*",),
        on_json("/cds-api/v1/messages", drop_key("unread")),
    ),
    Variant(
        "grants-api-open-without-token",
        "wg1-02.admin-apis.unauthenticated",
        ("wg1-02.admin-apis.unauthenticated",),
        status_swap("/cds-api/v1/grants", 401, 200, {"grants": [], "next": None, "previous": None}),
    ),
    Variant(
        "messages-api-opens-to-data-tokens",
        "wg1-02.admin-apis.wrong-scope",
        ("wg1-02.admin-apis.wrong-scope",),
        status_swap(
            "/cds-api/v1/messages",
            403,
            200,
            {k: [] if "_" not in k else None for k in ("outstanding", "unread", "read")},
        ),
    ),
    # the token endpoint
    Variant(
        "token-type-not-bearer",
        "wg1-02.token.client-credentials",
        ("wg1-02.token.client-credentials",),
        on_json("/oauth/token", lambda d: d.update(token_type="mac")),
    ),
    Variant(
        "token-responses-cacheable",
        "wg1-02.token.no-store",
        ("wg1-02.token.client-credentials", "wg1-02.token.no-store"),
        lambda scope, code, headers, out: (
            code,
            {k: v for k, v in headers.items() if k not in ("cache-control", "pragma")}
            if scope["path"].endswith("/token")
            else headers,
            out,
        ),
    ),
    Variant(
        "bad-secret-is-invalid-request",
        "wg1-02.token.bad-secret",
        ("wg1-02.token.bad-secret",),
        status_swap("/token", 401, 400, {"error": "invalid_request", "error_description": "no"}),
    ),
    replay_codes(),
    Variant(
        "live-token-introspected-inactive",
        "wg1-02.token.introspection",
        ("wg1-02.token.introspection",),
        on_json("/token/info", lambda d: {"active": False}),
    ),
    # CDS-WG3-01 data APIs
    Variant(
        "account-search-ignored",
        "wg3-01.accounts-list.filters",
        ("wg3-01.accounts-list.filters",),
        request=query_edit("/accounts", lambda pairs: [p for p in pairs if p[0] != "q"]),
    ),
    Variant(
        "service-contract-wrong-scope-allowed",
        "wg3-01.service-contract-list.wrong-scope",
        ("wg3-01.service-contract-list.wrong-scope",),
        status_swap(
            "/service-contracts",
            403,
            200,
            {"service_contracts": [], "next": None, "previous": None},
        ),
    ),
    Variant(
        "service-points-in-reverse-order",
        "wg3-01.service-point-list.order",
        ("wg3-01.service-point-list.order",),
        on_json("/service-points", lambda d: d["service_points"].reverse()),
    ),
    Variant(
        "meter-devices-open-without-token",
        "wg3-01.meter-device-list.unauthenticated",
        ("wg3-01.meter-device-list.unauthenticated",),
        status_swap(
            "/meter-devices", 401, 200, {"meter_devices": [], "next": None, "previous": None}
        ),
    ),
    Variant(
        "bill-statements-after-ignored",
        "wg3-01.bill-statement-list.filters",
        ("wg3-01.bill-statement-list.filters",),
        request=query_edit("/bill-statements", lambda pairs: [p for p in pairs if p[0] != "after"]),
    ),
    Variant(
        "bill-sections-accept-malformed-dates",
        "wg3-01.bill-section-list.malformed-filter",
        ("wg3-01.bill-section-list.malformed-filter",),
        request=query_edit("/bill-sections", _not_a_date),
    ),
    Variant(
        "aggregation-without-number",
        "wg3-01.aggregation-list.strict",
        ("wg3-01.aggregation-list.strict",),
        on_json("/aggregations", _each("aggregations", lambda a: a.pop("cds_aggregation_id"))),
    ),
    Variant(
        "usage-interval-arithmetic-wrong",
        "wg3-01.usage-segment-list.invariants",
        ("wg3-01.usage-segment-list.invariants",),
        on_json("/usage-segments", _each("usage_segments", _double_interval)),
    ),
    Variant(
        "usage-pages-repeat-an-item",
        "wg3-01.usage-segment-list.pagination",
        ("wg3-01.usage-segment-list.pagination",),
        duplicate_on_later_pages,
    ),
    Variant(
        "eac-401-without-www-authenticate",
        "wg3-01.eac-list.unauthenticated",
        ("wg3-01.eac-list.unauthenticated",),
        lambda scope, code, headers, out: (
            code,
            {k: v for k, v in headers.items() if k != "www-authenticate"}
            if scope["path"].endswith("/eacs")
            else headers,
            out,
        ),
    ),
    # grants and authorization details
    shared_grant(),
    Variant(
        "include-account-numbers-ignored",
        "wg3-01.details.include_account_numbers",
        ("wg3-01.details.include_account_numbers",),
        request=drop_details("include_account_numbers"),
    ),
    Variant(
        "usage-duration-ignored",
        "wg3-01.details.usage-segment-bounds",
        ("wg3-01.details.usage-segment-bounds",),
        request=drop_details("segment_start", "segment_end"),
    ),
    Variant(
        "statement-dates-ignored",
        "wg3-01.details.statement-bounds",
        ("wg3-01.details.statement-bounds",),
        request=drop_details("statement_date_start", "statement_date_end"),
    ),
]
