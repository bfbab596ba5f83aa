"""The cdsgen reference Server: the generated ``cds_server`` stubs on an embedded SQLite backend.

``create_app(path)`` opens (and on first start seeds) the database at ``path`` and returns the
ASGI application; ``cdsgen serve`` runs it with uvicorn. Besides every operation of the
documents it serves the pages a browser needs (the Customer's consent page, the default
redirect's receipt, a short documentation page) and the documents the sample data links to
(bill PDFs, EAC data).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from cds_server import ROUTERS, add_routes
from cds_server import create_app as create_stub_app
from cds_server.errors import InvalidToken, NotFound
from cds_server.runtime import error_response
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from cdsgen.server import seed
from cdsgen.server.access import Sandbox
from cdsgen.server.backend import ReferenceBackend
from cdsgen.server.catalog import CUSTOMER_DATA_OAUTH_PREFIX
from cdsgen.server.consent import SANDBOX_PASSWORD, add_consent_pages
from cdsgen.server.documents import bill_pdf, eac_data
from cdsgen.server.guard import Guard, Sizes
from cdsgen.server.ratelimit import Buckets, Limits
from cdsgen.server.store import Store, dumps
from cdsgen.server.vault import Vault

DEFAULT_DB = "cds-reference.sqlite3"

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def open_store(path: str | Path) -> tuple[Store, Sandbox]:
    """The database at ``path``, seeded with the sample data on first start."""
    store = Store(path)
    with store.write() as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(tokens)")}
        if "family" not in columns:  # a database from before token families
            db.execute("ALTER TABLE tokens ADD COLUMN family TEXT")
        db.execute("CREATE INDEX IF NOT EXISTS tokens_family ON tokens (family)")
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


def create_app(
    db_path: str | Path = DEFAULT_DB,
    *,
    page_size: int = 100,
    public_url: str | None = None,
    limits: Limits | None = None,
    sizes: Sizes | None = None,
) -> Any:
    """The reference Server on the SQLite database at ``db_path``, serving ``public_url``
    (every URL it writes starts there, whatever ``Host`` a request names; by default
    ``http://`` and the address and port that accepted the connection): the FastAPI
    application behind the HTTP guard (:mod:`cdsgen.server.guard`). The FastAPI application
    itself is the guard's ``app`` attribute."""
    store, sandbox = open_store(db_path)
    backend = ReferenceBackend(store, sandbox, page_size=page_size, vault=Vault.beside(db_path))
    seal_plain_secrets(backend)
    app = create_stub_app(backend, title="cdsgen reference Server")
    # Client Objects with customer-data scopes get tokens (and authorize) here, as their own
    # oauth_metadata says; the root OAuth endpoints serve Client Admin and Grant Admin.
    add_routes(app, ROUTERS["OAuth"](backend, CUSTOMER_DATA_OAUTH_PREFIX))
    buckets = Buckets(limits or Limits(), store)
    _add_pages(app, backend)
    secure = (public_url or "").startswith("https:")
    add_consent_pages(app, backend, buckets, _page, secure)
    app.state.backend = backend  # for housekeeping and tests: ``create_app(...).app.state``
    return Guard(app, public_url=public_url, buckets=buckets, sizes=sizes)


def settle(app: Any) -> Any:
    """``app``, ready to serve in this process: every object made so far (modules, models,
    the sample data, the catalog) is moved out of the cyclic garbage collector's sight. They
    live as long as the process, and the first full collection over them, which the first
    customer-data listing set off, paused that request by 60-100 ms."""
    gc.collect()
    gc.freeze()
    return app


class KeyMismatch(ValueError):
    """The database's secrets were sealed with another key than the one beside it."""


def seal_plain_secrets(backend: ReferenceBackend) -> None:
    """Encrypt client secrets a database from before encryption at rest holds in clear;
    :class:`KeyMismatch` when sealed ones do not open with the key beside the database."""
    store = backend.store
    checked = False
    with store.write() as db:
        for doc, owner, _ in store.records("credentials", db=db):
            secret, credential_id = doc["client_secret"], doc["credential_id"]
            if not Vault.is_sealed(secret):
                sealed = {**doc, "client_secret": backend.vault.seal(secret, credential_id)}
                store.put(db, "credentials", credential_id, sealed, owner=owner)
            elif not checked:  # one is enough to tell whether the key is the right one
                checked = True
                try:
                    backend.vault.open(secret, credential_id)
                except ValueError:
                    raise KeyMismatch(
                        f"{store.path}: the client secrets do not open with {store.path}.key "
                        "(was the key file replaced or deleted?)"
                    ) from None


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_pages.get_template(name).render(**context), status_code=status)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _add_pages(app: FastAPI, backend: ReferenceBackend) -> None:
    accounts = sorted(
        backend.sandbox.objects["accounts"].values(), key=lambda a: a["account_number"]
    )

    @app.get("/", include_in_schema=False)
    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return _page("docs.html", base=_base(request), accounts=accounts, password=SANDBOX_PASSWORD)

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
        return _page(
            "receipt.html",
            code=q.get("code"),
            error=q.get("error"),
            description=q.get("error_description"),
            state=q.get("state"),
        )
