"""``cdsgen serve --workers N``: the reference Server in N processes on one port.

One Python process answers on one core; the usage listings are CPU-bound. uvicorn starts
each worker process anew and imports the application by name, so the options of
``cdsgen serve`` travel to :func:`app_from_environment` in one environment variable. SQLite
in WAL mode lets the workers read at the same time while one writes; writes queue
(``BEGIN IMMEDIATE`` with a busy timeout). The rate limits live in the database too
(:mod:`cdsgen.server.ratelimit`), so N workers allow what one would. The database is created
and seeded once, by the parent, before any worker starts.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any

from fastapi import FastAPI

#: The environment variable carrying ``create_app``'s keyword arguments to the workers.
OPTIONS_VARIABLE = "CDSGEN_SERVE_OPTIONS"


def app_options(db: str, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``create_app`` among ``options`` (the parsed command line)."""
    from cdsgen.server import create_app

    accepted = inspect.signature(create_app).parameters
    chosen = {k: v for k, v in options.items() if k in accepted and k != "db_path"}
    return {"db_path": db, **chosen}


def serve_workers(
    db: str, options: dict[str, Any], *, host: str, port: int, workers: int, **uvicorn_options: Any
) -> None:
    """Seed the database here, then run ``workers`` uvicorn worker processes."""
    import uvicorn

    from cdsgen.server import open_store

    open_store(db)  # create and seed once, before the workers race to do it
    os.environ[OPTIONS_VARIABLE] = json.dumps(app_options(db, options))
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options,
    )


def app_from_environment() -> FastAPI:
    """The application of one worker process (uvicorn's factory)."""
    from cdsgen.server import create_app, settle

    return settle(create_app(**json.loads(os.environ[OPTIONS_VARIABLE])))
