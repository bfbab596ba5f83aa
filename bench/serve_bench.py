"""How fast does the reference Server answer?

Starts ``cdsgen serve`` (uvicorn, a loopback port, a fresh SQLite file), registers a
Client the way DESIGN.md describes, and measures over HTTP with httpx:

* requests per second of the Accounts listing (one connection, then four in parallel);
* the time to serve one year of 15-minute usage for one meter (35,040 value sets, 365 daily
  Usage Segments), following the ``next`` links page by page (median of several runs).

Prints a table; no assertions (speed belongs here, not in the tests).
"""

from __future__ import annotations

import base64
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

LISTING_REQUESTS = 400
YEAR_RUNS = 5


def serve(db: Path) -> tuple[subprocess.Popen, str]:
    """``cdsgen serve`` in its own process (so the load generator does not share its GIL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdsgen", "serve", "--port", str(port), "--db", str(db)],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx.get(f"{base}/.well-known/cds-server-metadata.json").raise_for_status()
            return proc, base
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError("cdsgen serve did not start") from None
            time.sleep(0.05)


def data_token(http: httpx.Client, base: str) -> tuple[str, dict]:
    """Register, find the direct-access Client Object and its secret, get a token where its
    own metadata says."""
    oauth = http.get(
        http.get(f"{base}/.well-known/cds-server-metadata.json").json()["oauth_metadata"]
    ).json()
    reg = http.post(
        oauth["registration_endpoint"],
        json={"scope": "cds_client_admin cds_query_accounts_1 cds_query_usage_1"},
    ).json()
    basic = {
        "Authorization": "Basic "
        + base64.b64encode(f"{reg['client_id']}:{reg['client_secret']}".encode()).decode()
    }
    admin = http.post(
        oauth["token_endpoint"], data={"grant_type": "client_credentials"}, headers=basic
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {admin}"}
    client = next(
        c
        for c in http.get(oauth["cds_clients_api"], headers=bearer).json()["clients"]
        if "cds_query_usage_1" in c["scope"]
    )
    secret = http.get(
        oauth["cds_credentials_api"], params={"client_ids": client["client_id"]}, headers=bearer
    ).json()["credentials"][0]["client_secret"]
    own = http.get(
        http.get(client["cds_server_metadata"], headers=bearer).json()["oauth_metadata"],
        headers=bearer,
    ).json()
    basic = {
        "Authorization": "Basic "
        + base64.b64encode(f"{client['client_id']}:{secret}".encode()).decode()
    }
    token = http.post(
        own["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": client["scope"]},
        headers=basic,
    ).json()
    return token["access_token"], own


def listing_rate(base_url: str, token: str, parallel: int) -> float:
    per_worker = LISTING_REQUESTS // parallel

    def worker(_: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
            for _ in range(per_worker):
                assert http.get(base_url).status_code == 200

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(worker, range(parallel)))
    return per_worker * parallel / (time.perf_counter() - start)


def year_of_usage(http: httpx.Client, url: str, token: str) -> tuple[float, int, int, int]:
    start = time.perf_counter()
    pages = sets = size = 0
    next_url: str | None = url + "?cds_meterdevice_ids=md-elec-01"
    while next_url:
        r = http.get(next_url, headers={"Authorization": f"Bearer {token}"})
        body = r.json()
        pages += 1
        size += len(r.content)
        sets += sum(len(s["values"]) for s in body["usage_segments"])
        next_url = body["next"]
    return time.perf_counter() - start, pages, sets, size


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        server, base = serve(Path(tmp, "bench.sqlite3"))
        startup = time.perf_counter() - start
        with httpx.Client(timeout=120) as http:
            token, own = data_token(http, base)
            accounts = own["cds_accounts_api"]
            listing_rate(accounts, token, 1)  # warm up
            rows.append(
                ("Accounts listing, 1 connection", f"{listing_rate(accounts, token, 1):,.0f} req/s")
            )
            rows.append(
                (
                    "Accounts listing, 4 connections",
                    f"{listing_rate(accounts, token, 4):,.0f} req/s",
                )
            )
            runs = [
                year_of_usage(http, own["cds_usagesegments_api"], token) for _ in range(YEAR_RUNS)
            ]
            seconds = statistics.median(r[0] for r in runs)
            _, pages, sets, size = runs[0]
            rows.append(
                (
                    f"One year of 15-min usage ({sets:,} value sets, {pages} pages, "
                    f"{size / 1e6:.1f} MB)",
                    f"{seconds * 1000:,.0f} ms",
                )
            )
            rows.append(
                ("First start of cdsgen serve (seeds the database)", f"{startup * 1000:,.0f} ms")
            )
        server.terminate()
        server.wait()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  ------")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
