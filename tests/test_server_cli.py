"""``cdsgen serve``: the reference Server as a process, with data that outlives a restart."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest
from cds_harness import basic, bearer

pytestmark = pytest.mark.xdist_group("reference-server-cli")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(db, port: int):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdsgen",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.get(f"{base}/.well-known/cds-server-metadata.json", timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"cdsgen serve did not start:\n{proc.stdout.read() if proc.stdout else ''}"
                )
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_keeps_registrations_and_tokens_across_restarts(tmp_path):
    db = tmp_path / "cds.sqlite3"
    port = _free_port()
    with serve(db, port) as base:
        meta = httpx.get(f"{base}/.well-known/cds-server-metadata.json").json()
        assert meta["oauth_metadata"] == f"{base}/.well-known/oauth-authorization-server"
        oauth = httpx.get(meta["oauth_metadata"]).json()
        reg = httpx.post(
            oauth["registration_endpoint"], json={"scope": "cds_client_admin cds_query_accounts_1"}
        ).json()
        token = httpx.post(
            oauth["token_endpoint"],
            data={"grant_type": "client_credentials"},
            headers=basic(reg["client_id"], reg["client_secret"]),
        ).json()
        before = httpx.get(oauth["cds_clients_api"], headers=bearer(token["access_token"])).json()[
            "clients"
        ]
    assert db.exists()
    with serve(db, port) as base:
        after = httpx.get(oauth["cds_clients_api"], headers=bearer(token["access_token"])).json()[
            "clients"
        ]
        assert after == before and len(after) == 3
        again = httpx.post(
            oauth["token_endpoint"],
            data={"grant_type": "client_credentials"},
            headers=basic(reg["client_id"], reg["client_secret"]),
        )
        assert again.status_code == 200
