"""The ceiling of ``bench/serve_bench.py``: bare FastAPI answering one fixed JSON document.

The application has one ``async`` route that answers the bytes of the file named by
``CEILING_BODY_FILE`` (the reference Server's metadata document, as the benchmark read it)
and nothing else: no middleware, no authentication, no lookup. Run by uvicorn the way
``cdsgen serve`` runs, on the same machine as the load generator, it measures what this
stack can answer at most; the reference Server's figures are read against it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

PATH = "/.well-known/cds-server-metadata.json"
BODY = Path(os.environ["CEILING_BODY_FILE"]).read_bytes()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get(PATH)
async def metadata() -> Response:
    return Response(BODY, media_type="application/json")
