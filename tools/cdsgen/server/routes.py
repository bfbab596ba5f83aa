"""Which documented operation a request addresses, known before any route runs.

The HTTP guard (:mod:`cdsgen.server.guard`) applies its limits before authentication and
before the generated stubs read anything, so it needs the operation table itself: the
paths of :data:`cds_server.OPERATIONS` (the OAuth group also under the customer-data
prefix), their query parameters (the fields of the generated ``…Query`` classes) and how
their bodies are encoded.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import cds_models as m
from cds_server import params
from cds_server.operations import OPERATIONS, Operation
from pydantic import BaseModel

from cdsgen.server.catalog import CUSTOMER_DATA_OAUTH_PREFIX

#: Operations whose body is ``application/x-www-form-urlencoded`` (RFC 6749, 7009, 7662, 9126).
FORM_BODIES = frozenset(
    {"requestToken", "pushAuthorizationRequest", "revokeToken", "introspectToken"}
)
#: Operations whose body is a JSON object, with the model it is read as.
JSON_BODIES: dict[str, type[BaseModel]] = {
    "registerClient": m.ClientRegistrationRequest,
    "modifyClient": m.ClientModifyRequest,
    "createCredential": m.CredentialCreateRequest,
    "modifyCredential": m.CredentialModifyRequest,
    "createMessage": m.MessageCreateRequest,
    "modifyMessage": m.MessageModifyRequest,
    "modifyGrant": m.GrantModifyRequest,
}


@dataclass(frozen=True)
class Route:
    """One documented operation at one concrete path pattern."""

    operation: Operation
    pattern: re.Pattern[str]
    query: frozenset[str] | None
    """The query parameters it documents; ``None`` when unknown ones are ignored (OAuth
    authorization requests, RFC 6749 §3.1)."""

    @property
    def body(self) -> str | None:
        """``"json"``, ``"form"`` or ``None`` (no request body)."""
        op = self.operation.operation_id
        return "json" if op in JSON_BODIES else "form" if op in FORM_BODIES else None


def _pattern(prefix: str, path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(re.escape(prefix) + regex)


def _query_names(operation: Operation) -> frozenset[str] | None:
    if operation.operation_id == "authorize":
        return None
    name = operation.operation_id[0].upper() + operation.operation_id[1:] + "Query"
    cls = getattr(params, name, None)
    if cls is None:
        return frozenset()
    return frozenset(f.name for f in dataclasses.fields(cls))


def _routes() -> list[Route]:
    out = []
    for operation in OPERATIONS.values():
        prefixes = [""] + ([CUSTOMER_DATA_OAUTH_PREFIX] if operation.group == "OAuth" else [])
        for prefix in prefixes:
            out.append(Route(operation, _pattern(prefix, operation.path), _query_names(operation)))
    return out


ROUTES = _routes()


def _exact(routes: list[Route]) -> dict[tuple[str, str], Route]:
    """``(method, path)`` → route, for the paths without parameters that no earlier pattern
    matches: most requests are found by one dictionary look-up instead of trying each
    pattern in turn."""
    out: dict[tuple[str, str], Route] = {}
    for i, route in enumerate(routes):
        path = route.pattern.pattern.replace("\\", "")
        if not re.fullmatch(route.pattern, path):
            continue  # a pattern with parameters
        method = route.operation.method
        earlier = routes[:i]
        if not any(r.operation.method == method and r.pattern.fullmatch(path) for r in earlier):
            out[(method, path)] = route
    return out


_EXACT = _exact(ROUTES)


def find(method: str, path: str) -> Route | None:
    """The operation ``method`` ``path`` addresses (HEAD counts as GET)."""
    method = "GET" if method == "HEAD" else method
    found = _EXACT.get((method, path))
    if found is not None:
        return found
    for route in ROUTES:
        if route.operation.method == method and route.pattern.fullmatch(path):
            return route
    return None


def allowed(path: str, extra: dict[str, tuple[str, ...]]) -> list[str]:
    """Every method served at ``path`` (``extra``: the pages' own path patterns → methods),
    HEAD wherever GET is: the ``Allow`` header of a 405 answer (RFC 9110 §15.5.6)."""
    methods = {r.operation.method for r in ROUTES if r.pattern.fullmatch(path)}
    for pattern, more in extra.items():
        if re.fullmatch(pattern, path):
            methods.update(more)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
