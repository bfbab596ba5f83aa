"""The cdsgen reference Server: the generated ``cds_server`` stubs on an embedded SQLite backend.

``create_app(path)`` opens (and on first start seeds) the database at ``path`` and returns the
ASGI application; ``cdsgen serve`` runs it with uvicorn. Besides every operation of the
documents it serves the pages a browser needs (the Customer's consent page, the default
redirect's receipt, a short documentation page) and the documents the sample data links to
(bill PDFs, EAC data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cds_server import ROUTERS, SCOPE_TYPES
from cds_server import create_app as create_stub_app
from cds_server.errors import InvalidToken, NotFound
from cds_server.runtime import error_response
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from cdsgen.server import seed
from cdsgen.server.access import Sandbox
from cdsgen.server.backend import ReferenceBackend
from cdsgen.server.catalog import CUSTOMER_DATA_OAUTH_PREFIX, SCOPES
from cdsgen.server.documents import bill_pdf, eac_data
from cdsgen.server.store import Store, dumps

DEFAULT_DB = "cds-reference.sqlite3"

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def open_store(path: str | Path) -> tuple[Store, Sandbox]:
    """The database at ``path``, seeded with the sample data on first start."""
    store = Store(path)
    with store.write() as db:
        seeded = db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
        if seeded is None:
            data = seed.sample_data()
            for kind, docs in data.items():
                for doc in docs:
                    key = Sandbox.id_of(kind, doc)
                    if kind == "usage_segments":
                        values = doc.pop("values")
                        db.execute(
                            "INSERT INTO usage_values (id, data) VALUES (?, ?)",
                            (key, dumps(values)),
                        )
                    store.put(db, kind, key, doc)
            db.execute("INSERT INTO meta (key, value) VALUES ('seeded', '1')")
    docs = {kind: store.docs(kind) for kind in seed.KINDS}
    return store, Sandbox.from_docs(docs)


def create_app(db_path: str | Path = DEFAULT_DB, *, page_size: int = 100) -> FastAPI:
    """The reference Server on the SQLite database at ``db_path``."""
    store, sandbox = open_store(db_path)
    backend = ReferenceBackend(store, sandbox, page_size=page_size)
    app = create_stub_app(backend, title="cdsgen reference Server")
    # Client Objects with customer-data scopes get tokens (and authorize) here, as their own
    # oauth_metadata says; the root OAuth endpoints serve Client Admin and Grant Admin.
    app.include_router(ROUTERS["OAuth"](backend, CUSTOMER_DATA_OAUTH_PREFIX))
    _add_pages(app, backend)
    return app


GONE = "This authorization request is unknown, expired or already decided."
#: Selection kind → the preselection fields that pre-check its options on the consent page.
PICK_NUMBERS = {
    "accounts": ("account_numbers",),
    "service_contracts": ("contract_numbers",),
    "service_points": ("servicepoint_numbers",),
    "meter_devices": ("meter_numbers",),
}


def _numbers(kind: str, doc: dict[str, Any]) -> list[str]:
    field = {
        "accounts": "account_number",
        "service_contracts": "contract_number",
        "service_points": "servicepoint_number",
        "meter_devices": "meter_number",
    }[kind]
    return [doc[field]] if doc.get(field) else []


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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _add_pages(app: FastAPI, backend: ReferenceBackend) -> None:
    accounts = sorted(
        backend.sandbox.objects["accounts"].values(), key=lambda a: a["account_number"]
    )

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(_pages.get_template(name).render(**context), status_code=status)

    def gone() -> HTMLResponse:
        """The receipt for a consent request that is unknown, expired or already decided."""
        receipt = {"code": None, "error": "invalid_request", "description": GONE, "state": None}
        return page("receipt.html", 404, **receipt)

    @app.get("/", include_in_schema=False)
    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return page("docs.html", base=_base(request), accounts=accounts)

    @app.get("/oauth/consent/{request_id}", include_in_schema=False)
    async def consent(request: Request, request_id: str) -> Response:
        pending = await run_in_threadpool(backend.consent_request, request_id)
        if pending is None:
            return gone()
        client = await run_in_threadpool(backend._client, pending["client_id"])
        kind = pending["selection"]
        numbers = {
            n
            for e in pending["authorization_details"]
            for f in PICK_NUMBERS[kind]
            for n in e.get(f) or []
        }
        options = [
            {"id": i, "label": _label(kind, d), "checked": bool(numbers & set(_numbers(kind, d)))}
            for i, d in sorted(backend.sandbox.objects[kind].items())
        ]
        return page(
            "consent.html",
            client_name=(client or {}).get("client_name", pending["client_id"]),
            scopes=[{"id": s, "name": SCOPE_TYPES[SCOPES[s].type].name} for s in pending["scope"]],
            what=kind.replace("_", " "),
            options=options,
            action=f"{_base(request)}/oauth/consent/{request_id}",
        )

    @app.post("/oauth/consent/{request_id}", include_in_schema=False)
    async def decide(request: Request, request_id: str) -> Response:
        form = await request.form()
        approve = form.get("decision") == "approve"
        picked = [str(v) for v in form.getlist("pick")]
        target = await run_in_threadpool(
            backend.decide, _base(request), request_id, approve, picked
        )
        if target is None:
            return gone()
        return RedirectResponse(target, status_code=303)

    async def linked(request: Request, kind: str, doc_id: str) -> dict[str, Any] | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error_response(
                InvalidToken("This document needs a Bearer access token.", missing=True)
            )
        doc = await run_in_threadpool(backend.linked_document, token.strip(), kind, doc_id)
        if doc is None:
            return error_response(NotFound("No such document shared with this token."))
        return doc

    @app.get("/sample-bills/{statement_id}.pdf", include_in_schema=False)
    async def bill_file(request: Request, statement_id: str) -> Response:
        doc = await linked(request, "bill_statements", statement_id)
        return (
            doc
            if isinstance(doc, Response)
            else Response(bill_pdf(doc), media_type="application/pdf")
        )

    @app.get("/sample-eacs/{eac_id}.json", include_in_schema=False)
    async def eac_file(request: Request, eac_id: str) -> Response:
        doc = await linked(request, "eacs", eac_id)
        return doc if isinstance(doc, Response) else JSONResponse(eac_data(doc))

    @app.get("/oauth/default-redirect/{client_id}", include_in_schema=False)
    async def receipt(request: Request, client_id: str) -> Response:
        q = request.query_params
        return page(
            "receipt.html",
            code=q.get("code"),
            error=q.get("error"),
            description=q.get("error_description"),
            state=q.get("state"),
        )
