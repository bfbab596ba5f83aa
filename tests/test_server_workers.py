"""``cdsgen serve --workers N``: several processes answer on one port from one database."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cds_harness import basic, bearer, free_port

pytestmark = pytest.mark.xdist_group("reference-server-cli")


def _workers_of(pid: int) -> int:
    """Worker processes uvicorn spawned under ``pid`` (Linux ``/proc``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(
        b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        for c in children
        if Path(f"/proc/{c}/cmdline").exists()
    )


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_two_workers_share_one_database(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "cdsgen", "serve", "--port", str(port)]
    argv += ["--db", str(tmp_path / "db.sqlite3"), "--workers", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while _workers_of(proc.pid) < 2 or not _answers(base):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.2)
        oauth = httpx.get(
            httpx.get(f"{base}/.well-known/cds-server-metadata.json").json()["oauth_metadata"]
        ).json()
        # a write on one connection (whichever worker takes it) ...
        reg = httpx.post(oauth["registration_endpoint"], json={"scope": "cds_client_admin"})
        assert reg.status_code == 201, reg.text
        auth = basic(reg.json()["client_id"], reg.json()["client_secret"])
        # ... is seen on every later connection, whichever worker takes each
        for _ in range(12):
            token = httpx.post(
                oauth["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
                headers=auth,
            )
            assert token.status_code == 200, token.text
            listed = httpx.get(
                oauth["cds_clients_api"], headers=bearer(token.json()["access_token"])
            )
            assert listed.status_code == 200 and listed.json()["clients"], listed.text
        # the rate limits hold for the Server, not per worker: open registration allows 30 at
        # once (and one more every two seconds), whichever worker takes each connection
        answers = [
            httpx.post(oauth["registration_endpoint"], json={"scope": "cds_client_admin"})
            for _ in range(40)
        ]
        assert {a.status_code for a in answers} == {201, 429}
        assert 30 <= 1 + sum(a.status_code == 201 for a in answers) <= 33
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/.well-known/cds-server-metadata.json").status_code == 200
    except httpx.TransportError:
        return False


def test_workers_must_be_a_positive_number(tmp_path):
    for given in ("0", "two"):
        done = subprocess.run(
            [sys.executable, "-m", "cdsgen", "serve", "--workers", given],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 2
        assert "--workers" in done.stderr and "Traceback" not in done.stderr
