"""The Customer's consent pages: sign-in as a sandbox Customer, then the consent form.

A Grant reaches only the data of the Customer who signed in: the form lists their objects
alone and refuses picks of anyone else's. Both forms carry a ``csrf_token`` bound to a
browser cookie (a MAC over the cookie and the request id, with a key derived from the
database's key), so another site cannot post them for the Customer; the pages may not be
framed (see :mod:`cdsgen.server.guard`). Sandbox Customers sign in with their customer
number and the password ``sandbox``; failed sign-ins are rate-limited per address.

The contract the tests and the conformance suite drive: plain ``<form method="post">``
pages; fields ``username``, ``password``, hidden ``csrf_token``, checkboxes ``pick`` and a
submit button ``decision`` = ``approve`` / ``deny``. A post may sign in and decide at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from cds_server import SCOPE_TYPES
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cdsgen.server import access
from cdsgen.server.backend import ReferenceBackend, digest
from cdsgen.server.catalog import SCOPES
from cdsgen.server.ratelimit import Buckets

#: The password of every sandbox Customer (their username is their customer number).
SANDBOX_PASSWORD = "sandbox"
COOKIE = "cds_consent_browser"
SIGN_IN_SECONDS = 15 * 60
GONE = "This authorization request is unknown, expired or already decided."
#: Selection kind → the preselection fields that pre-check its options on the consent page.
PICK_NUMBERS = {
    "accounts": ("account_numbers",),
    "service_contracts": ("contract_numbers",),
    "service_points": ("servicepoint_numbers",),
    "meter_devices": ("meter_numbers",),
}
_NUMBER_FIELD = {
    "accounts": "account_number",
    "service_contracts": "contract_number",
    "service_points": "servicepoint_number",
    "meter_devices": "meter_number",
}

Page = Callable[..., HTMLResponse]


def customers(backend: ReferenceBackend) -> list[str]:
    """The sandbox Customers' numbers, which are their usernames."""
    return sorted({a["customer_number"] for a in backend.sandbox.objects["accounts"].values()})


def _label(kind: str, doc: dict[str, Any]) -> str:
    if kind == "accounts":
        return f"{doc['account_name']}: account {doc['account_number']}"
    if kind == "service_contracts":
        service = doc["service_types"][0].replace("_", " ")
        return (
            f"{service.capitalize()} service {doc['contract_number']} at {doc['contract_address']}"
        )
    if kind == "service_points":
        return f"Service point {doc['servicepoint_number']} at {doc['servicepoint_address']}"
    return f"Meter {doc['meter_number']}"


class ConsentPages:
    """The two pages of one Server; ``page`` renders a template."""

    def __init__(self, backend: ReferenceBackend, buckets: Buckets, page: Page, secure: bool):
        self.backend = backend
        self.buckets = buckets
        self.page = page
        self.secure = secure
        self.usernames = frozenset(customers(backend))

    # -- sessions --------------------------------------------------------------------------
    def signed_in(self, browser: str | None) -> str | None:
        """The Customer signed in on this browser, if any."""
        if not browser:
            return None
        row = (
            self.backend.store.db()
            .execute(
                "SELECT data, expires_at FROM pending WHERE id = ? AND kind = 'signin'",
                (digest(browser),),
            )
            .fetchone()
        )
        return row[0].decode() if row and row[1] > time.time() else None

    def sign_in(self, browser: str, customer: str) -> None:
        with self.backend.store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO pending (id, kind, client_id, data, expires_at) "
                "VALUES (?, 'signin', '', ?, ?)",
                (digest(browser), customer.encode(), int(time.time()) + SIGN_IN_SECONDS),
            )

    def csrf(self, browser: str, request_id: str) -> str:
        return self.backend.vault.sign("consent-csrf", browser, request_id)

    def credentials_valid(self, username: str, password: str) -> bool:
        known = username in self.usernames
        right = hmac.compare_digest(password.encode(), SANDBOX_PASSWORD.encode())
        return known and right

    # -- pages -----------------------------------------------------------------------------
    def gone(self) -> HTMLResponse:
        """The receipt for a consent request that is unknown, expired or already decided."""
        receipt = {"code": None, "error": "invalid_request", "description": GONE, "state": None}
        return self.page("receipt.html", 404, **receipt)

    def form(
        self,
        request: Request,
        request_id: str,
        pending: dict[str, Any],
        browser: str,
        customer: str | None,
        *,
        status: int = 200,
        problem: str | None = None,
    ) -> HTMLResponse:
        """The sign-in form (nobody signed in) or the consent form of ``customer``."""
        client = self.backend._client(pending["client_id"]) or {}
        context: dict[str, Any] = {
            "client_name": client.get("client_name", pending["client_id"]),
            "scopes": [
                {"id": s, "name": SCOPE_TYPES[SCOPES[s].type].name} for s in pending["scope"]
            ],
            "action": str(request.url_for("consent_page", request_id=request_id)),
            "csrf_token": self.csrf(browser, request_id),
            "problem": problem,
            "customers": sorted(self.usernames),
            "password": SANDBOX_PASSWORD,
        }
        if customer is None:
            response = self.page("signin.html", status, **context)
        else:
            kind = pending["selection"]
            numbers = {
                n
                for e in pending["authorization_details"]
                for f in PICK_NUMBERS[kind]
                for n in e.get(f) or []
            }
            own = access.customer_objects(self.backend.sandbox, customer)[kind]
            objects = self.backend.sandbox.objects[kind]
            options = [
                {
                    "id": i,
                    "label": _label(kind, objects[i]),
                    "checked": objects[i].get(_NUMBER_FIELD[kind]) in numbers,
                }
                for i in sorted(own)
            ]
            response = self.page(
                "consent.html",
                status,
                **context,
                customer=customer,
                what=kind.replace("_", " "),
                options=options,
            )
        response.set_cookie(
            COOKIE,
            browser,
            max_age=SIGN_IN_SECONDS,
            path="/oauth/consent",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def show(self, request: Request, request_id: str) -> Response:
        pending = await run_in_threadpool(self.backend.consent_request, request_id)
        if pending is None:
            return self.gone()
        browser = request.cookies.get(COOKIE) or secrets.token_urlsafe(32)
        customer = await run_in_threadpool(self.signed_in, browser)
        return self.form(request, request_id, pending, browser, customer)

    async def post(self, request: Request, request_id: str) -> Response:
        pending = await run_in_threadpool(self.backend.consent_request, request_id)
        if pending is None:
            return self.gone()
        form = await request.form()
        browser = request.cookies.get(COOKIE)
        given = str(form.get("csrf_token") or "")
        if not browser or not hmac.compare_digest(given, self.csrf(browser, request_id)):
            fresh = secrets.token_urlsafe(32)
            problem = "The form expired or did not come from this page; please try again."
            return self.form(request, request_id, pending, fresh, None, status=403, problem=problem)
        customer = await run_in_threadpool(self.signed_in, browser)
        username, password = form.get("username"), form.get("password")
        if username is not None or password is not None:
            who = request.client.host if request.client else "unknown"
            if self.buckets.retry_after("failed_sign_in", who) is not None:
                problem = "Too many failed sign-ins; wait a minute and try again."
                return self.form(
                    request, request_id, pending, browser, None, status=429, problem=problem
                )
            if not self.credentials_valid(str(username or ""), str(password or "")):
                await run_in_threadpool(self.buckets.take, "failed_sign_in", who)
                problem = "Unknown customer number or wrong password."
                return self.form(
                    request, request_id, pending, browser, None, status=401, problem=problem
                )
            customer = str(username)
            await run_in_threadpool(self.sign_in, browser, customer)
        if customer is None:
            problem = "Please sign in first."
            return self.form(
                request, request_id, pending, browser, None, status=401, problem=problem
            )
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            return RedirectResponse(str(request.url), status_code=303)
        picked = [str(v) for v in form.getlist("pick")]
        own = access.customer_objects(self.backend.sandbox, customer)[pending["selection"]]
        if decision == "approve" and not set(picked) <= own:
            problem = "You can only share your own data."
            return self.form(
                request, request_id, pending, browser, customer, status=403, problem=problem
            )
        target = await run_in_threadpool(
            self.backend.decide, request_id, decision == "approve", picked, customer
        )
        if target is None:
            return self.gone()
        return RedirectResponse(target, status_code=303)


def add_consent_pages(
    app: FastAPI, backend: ReferenceBackend, buckets: Buckets, page: Page, secure: bool
) -> None:
    """Serve the consent pages on ``app``."""
    pages = ConsentPages(backend, buckets, page, secure)
    app.add_api_route(
        "/oauth/consent/{request_id}",
        pages.show,
        methods=["GET"],
        name="consent_page",
        include_in_schema=False,
    )
    app.add_api_route(
        "/oauth/consent/{request_id}", pages.post, methods=["POST"], include_in_schema=False
    )
