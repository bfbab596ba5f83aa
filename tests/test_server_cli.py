"""``cdsgen serve``: the reference Server as a process, with data that outlives a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from cds_harness import basic, bearer, free_port

pytestmark = pytest.mark.xdist_group("reference-server-cli")


@contextmanager
def serve(db, port: int, *options: str, processes: list | None = None):
    """``cdsgen serve`` on ``port`` until the block ends (``processes`` receives the process,
    for tests that kill it themselves)."""
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
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    if processes is not None:
        processes.append(proc)
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
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=20)


def test_serve_keeps_registrations_and_tokens_across_restarts(tmp_path):
    db = tmp_path / "cds.sqlite3"
    port = free_port()
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


def test_urls_follow_the_public_url_never_the_host_header(tmp_path):
    port = free_port()
    public = "https://cds.example.org"
    with serve(tmp_path / "cds.sqlite3", port, "--public-url", public, "--proxy-headers") as base:
        for host in ({}, {"Host": "evil.example.com"}, {"X-Forwarded-Host": "evil.example.com"}):
            headers = {**host, "X-Forwarded-Proto": "http"}
            meta = httpx.get(f"{base}/.well-known/cds-server-metadata.json", headers=headers)
            assert (
                meta.json()["oauth_metadata"] == f"{public}/.well-known/oauth-authorization-server"
            )
            oauth = httpx.get(f"{base}/.well-known/oauth-authorization-server", headers=headers)
            assert oauth.json()["issuer"] == public
            assert oauth.headers["strict-transport-security"] == "max-age=31536000"
            assert "evil" not in oauth.text


def test_serve_refuses_a_public_url_with_a_path(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "cdsgen", "serve", "--public-url", "https://x.example/cds"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--public-url" in run.stderr and "without a path" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_sigkill_during_concurrent_writes_loses_no_answered_write(tmp_path):
    """Writers create Messages from eight threads; the Server is killed with SIGKILL in the
    middle. After a restart, every Message answered 201 is there (SQLite WAL commits before
    the answer leaves)."""
    db = tmp_path / "cds.sqlite3"
    port = free_port()
    processes: list[subprocess.Popen] = []
    answered: list[str] = []
    lock = threading.Lock()
    with serve(db, port, processes=processes) as base:
        oauth = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        reg = httpx.post(oauth["registration_endpoint"], json={"scope": "cds_client_admin"}).json()
        token = httpx.post(
            oauth["token_endpoint"],
            data={"grant_type": "client_credentials"},
            headers=basic(reg["client_id"], reg["client_secret"]),
        ).json()["access_token"]
        stop = threading.Event()

        def write(worker: int) -> None:
            with httpx.Client(headers=bearer(token), timeout=10) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    body = {
                        "type": "private_message",
                        "previous_uri": None,
                        "name": f"w{worker}-{n}",
                        "description": "x",
                    }
                    try:
                        r = http.post(oauth["cds_messages_api"], json=body)
                    except httpx.TransportError:
                        return  # the Server is gone; this write was never answered
                    if r.status_code == 201:
                        with lock:
                            answered.append(r.json()["message_id"])

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=20)
        stop.set()
        for t in threads:
            t.join(timeout=20)
    assert len(answered) >= 150
    with serve(db, port) as base:
        with httpx.Client(headers=bearer(token), timeout=10) as http:
            missing = [
                m
                for m in answered
                if http.get(f"{oauth['cds_messages_api']}/{m}").status_code != 200
            ]
    assert missing == []


@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "proxy-headers"])
def test_proxy_headers_name_the_client_only_when_asked(tmp_path, behind_proxy):
    """Registration is rate-limited per client address (30 at once, then one per two
    seconds). With --proxy-headers a proxy on loopback names the client in X-Forwarded-For,
    so another client still gets through; without it the header is ignored and every
    request counts against one address."""
    options = ["--proxy-headers"] if behind_proxy else []
    with serve(tmp_path / "cds.sqlite3", free_port(), *options) as base:

        def register(client: str) -> int:
            return httpx.post(
                f"{base}/oauth/register",
                json={"scope": "cds_client_admin"},
                headers={"X-Forwarded-For": client},
            ).status_code

        first = [register("198.51.100.1")]
        while first[-1] == 201 and len(first) < 300:  # it refills one per two seconds
            first.append(register("198.51.100.1"))
        other = register("198.51.100.2")
    assert first[-1] == 429 and len(first) >= 31
    assert other == (201 if behind_proxy else 429)


@pytest.mark.parametrize("asked", [False, True])
def test_requests_are_logged_only_with_access_log(tmp_path, asked):
    processes: list[subprocess.Popen] = []
    options = ["--access-log"] if asked else []
    with serve(tmp_path / "cds.sqlite3", free_port(), *options, processes=processes) as base:
        assert httpx.get(f"{base}/cds-coverage.json").status_code == 200
    output = processes[0].stdout.read() if processes[0].stdout else ""
    assert ('"GET /cds-coverage.json HTTP/1.1" 200' in output) is asked, output
