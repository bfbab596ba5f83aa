"""How fast does the reference Server answer, measured by a real HTTP load generator?

Starts ``cdsgen serve`` (a loopback port, a fresh SQLite file, ``WORKERS`` worker processes,
default 2), gets a token the way a CDS Client does (registration, then the Customer's consent
through the consent page for the first household's electricity, then the code exchange), and
measures with Debian's ``wrk`` (``make wrk`` installs it):

* requests/s and p50 / p99 latency of the server metadata document, an Accounts listing and
  one Usage Segments page (100 daily segments of 15-minute values), at concurrency 1, 8, 64;
  each cell runs ``CELL_SECONDS`` (default 3) seconds, ``REPEATS`` (default 3) times, the cells
  interleaved, and the table shows medians;
* the time to read a year of 15-minute usage for one meter (365 daily segments, 35,040
  value sets) through every page of the listing, with that token: the first read, before
  the Server has computed anything for that token, and the median of ``YEAR_RUNS`` more;
  the aim is checked for each;
* the ceiling of this machine: ``bench/ceiling_app.py``, bare FastAPI answering the
  metadata document's bytes from one ``async`` route, run by uvicorn with as many workers,
  in the same interleaved cells.

Every figure is checked first: each endpoint answers 200 with the expected content (the
ceiling the metadata document's very bytes), wrk saw no socket error, timeout or non-2xx
answer and read at least the body size per request, and the year has every value set.
Missing work stops the run with exit status 2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from measure import load_note, median, print_table, require, verdict

HERE = Path(__file__).resolve().parent
WORKERS = int(os.environ.get("WORKERS", "2"))
SECONDS = int(os.environ.get("CELL_SECONDS", "3"))
REPEATS = int(os.environ.get("REPEATS", "3"))
YEAR_RUNS = int(os.environ.get("YEAR_RUNS", "5"))
CONCURRENCY = [1, 8, 64]
#: The sandbox Customer and the meter whose year of usage is read (tools/cdsgen/server/seed.py).
CUSTOMER = ("C-100234", "sandbox")
METER = "md-elec-01"
#: What the Customer ticks on the consent page: any option naming the meter or what holds it.
WANTED = ("md-elec-01", "E7000123", "acct-res-01", "1000-2345-01", "sc-elec-01", "sp-elec-01")
YEAR_SEGMENTS, YEAR_VALUE_SETS = 365, 365 * 96
AIMS = {"metadata": 5000, "accounts": 2500, "usage page": 100}
AIM_USAGE_P99_MS, AIM_YEAR_MS = 150, 100
#: The row of bench/ceiling_app.py: bare FastAPI answering the metadata document's bytes.
CEILING = "ceiling: bare FastAPI"


# -- the servers -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = [sys.executable, "-m", "cdsgen", "serve", "--port", str(port), "--db", str(db)]
    if WORKERS > 1:
        argv += ["--workers", str(WORKERS)]
    return _started(argv, port, db.with_suffix(".log"), "cdsgen serve")


def start_ceiling(tmp: Path, body: bytes) -> tuple[subprocess.Popen, str]:
    """``bench/ceiling_app.py`` (bare FastAPI answering ``body``), run by uvicorn as
    ``cdsgen serve`` runs: the same number of worker processes, httptools, uvloop."""
    body_file = tmp / "ceiling-body.json"
    body_file.write_bytes(body)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "ceiling_app:app"]
    argv += ["--port", str(port), "--workers", str(WORKERS), "--log-level", "warning"]
    argv += ["--no-access-log"]  # as cdsgen serve runs without --access-log
    env = {**os.environ, "CEILING_BODY_FILE": str(body_file)}
    return _started(argv, port, tmp / "ceiling.log", "the bare FastAPI ceiling", env)


def _started(
    argv: list[str], port: int, log_path: Path, what: str, env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """``argv`` started, once it answers the metadata path on ``port``."""
    log = log_path.open("w+b")  # a file: a pipe nobody reads could fill up
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/.well-known/cds-server-metadata.json").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    log.seek(0)
    require(False, f"{what} did not start: {log.read().decode()[-2000:]}")
    raise AssertionError  # unreachable


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the Customer's consent, as a browser gives it ---------------------------------------------
class _Forms(HTMLParser):
    """Every form of a page: action, inputs (name, type, value) and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._label: list[str] | None = None
        self._pending: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "inputs": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("type", "").lower() == "submit" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))
        elif tag == "input" and a.get("name"):
            field = {"name": a["name"], "type": a.get("type", "text").lower(), **a, "label": ""}
            field["checked"] = "checked" in a
            self.forms[-1]["inputs"].append(field)
            self._pending = field
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))
        elif tag == "label":
            self._label = []

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label is not None:
            if self._pending is not None:
                self._pending["label"] = " ".join("".join(self._label).split())
            self._label, self._pending = None, None


def fill_form(html: str, page_url: str, credentials: tuple[str, str], wanted: tuple[str, ...]):
    """The URL and fields a Customer sends from the first form of a sign-in or consent page:
    hidden inputs as they are (``csrf_token``), ``username`` and ``password``, the ``pick``
    boxes whose value or label names something in ``wanted``, and ``decision=approve``."""
    parser = _Forms()
    parser.feed(html)
    require(parser.forms, f"no form on {page_url}")
    form = parser.forms[0]
    data: list[tuple[str, str]] = []
    for field in form["inputs"]:
        kind, name = field["type"], field["name"]
        if kind == "hidden":
            data.append((name, field.get("value", "")))
        elif name == "username":
            data.append((name, credentials[0]))
        elif kind == "password" or name == "password":
            data.append((name, credentials[1]))
        elif kind == "checkbox" and name == "pick":
            text = f"{field.get('value', '')} {field['label']}"
            if any(w in text for w in wanted):
                data.append((name, field.get("value", "on")))
    if ("decision", "approve") in form["buttons"]:
        data.append(("decision", "approve"))
    elif form["buttons"]:  # a sign-in page's only button
        data.append(form["buttons"][0])
    return urljoin(page_url, form["action"] or page_url), data


def consent_token(http: httpx.Client, base: str) -> tuple[str, dict]:
    """A token for the usage scope: registration, the consent page(s), the code exchange."""
    metadata = http.get(f"{base}/.well-known/cds-server-metadata.json").json()
    root_oauth = http.get(metadata["oauth_metadata"]).json()
    usage_scopes = [
        sid
        for sid, d in root_oauth["cds_scope_descriptions"].items()
        if d.get("type") == "cds_usage"
    ]
    require(usage_scopes, "the server describes no cds_usage scope")
    scope = usage_scopes[0]
    reg = http.post(
        root_oauth["registration_endpoint"],
        json={"scope": f"cds_client_admin {scope}", "client_name": "serve_bench"},
    )
    require(reg.status_code == 201, f"registration failed: {reg.status_code} {reg.text}")
    admin = _basic_token(http, root_oauth["token_endpoint"], reg.json(), "cds_client_admin")
    bearer = {"Authorization": f"Bearer {admin}"}
    clients = http.get(root_oauth["cds_clients_api"], headers=bearer).json()["clients"]
    client = next(c for c in clients if scope in c["scope"].split())
    secret = http.get(
        root_oauth["cds_credentials_api"],
        params={"client_ids": client["client_id"]},
        headers=bearer,
    ).json()["credentials"][0]["client_secret"]
    own_meta = http.get(client["cds_server_metadata"], headers=bearer).json()
    oauth = http.get(own_meta["oauth_metadata"], headers=bearer).json()

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "scope": scope,
        "state": secrets.token_hex(8),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(oauth["authorization_endpoint"], params=params)
        for _ in range(4):  # sign-in and consent, on one page or two
            code = parse_qs(urlsplit(str(page.url)).query).get("code")
            if code:
                break
            require(page.status_code == 200, f"consent step {page.url}: {page.status_code}")
            action, data = fill_form(page.text, str(page.url), CUSTOMER, WANTED)
            fields: dict[str, list[str]] = {}
            for name, value in data:
                fields.setdefault(name, []).append(value)
            page = browser.post(action, data=fields)
        require(code, f"the consent flow did not reach the redirect with a code: {page.url}")
    token = http.post(
        oauth["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code[0], "code_verifier": verifier},
        headers=_basic(client["client_id"], secret),
    )
    require(token.status_code == 200, f"code exchange failed: {token.text}")
    return token.json()["access_token"], oauth


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _basic_token(http: httpx.Client, url: str, reg: dict, scope: str) -> str:
    r = http.post(
        url,
        data={"grant_type": "client_credentials", "scope": scope},
        headers=_basic(reg["client_id"], reg["client_secret"]),
    )
    require(r.status_code == 200, f"token request failed: {r.text}")
    return r.json()["access_token"]


# -- the measured endpoints -------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str
    authorization: str
    body_bytes: int


def targets(http: httpx.Client, base: str, token: str, apis: dict) -> list[Target]:
    """The three endpoints, each checked once: status, content and body size."""
    auth = f"Bearer {token}"
    meta_url = f"{base}/.well-known/cds-server-metadata.json"
    meta = http.get(meta_url)
    require(meta.status_code == 200 and "oauth_metadata" in meta.json(), "metadata document")
    accounts_url = apis["cds_accounts_api"]
    accounts = http.get(accounts_url, headers={"Authorization": auth})
    require(
        accounts.status_code == 200 and accounts.json()["accounts"],
        f"the Accounts listing shows nothing: {accounts.status_code} {accounts.text[:300]}",
    )
    usage_url = f"{apis['cds_usagesegments_api']}?cds_meterdevice_ids={METER}"
    usage = http.get(usage_url, headers={"Authorization": auth})
    require(usage.status_code == 200, f"usage page: {usage.status_code} {usage.text[:300]}")
    segments = usage.json()["usage_segments"]
    require(
        len(segments) > 1 and all(len(s["values"]) == 96 for s in segments),
        f"the usage page has {len(segments)} segments, not full days of 15-minute values",
    )
    return [
        Target("metadata", meta_url, "", len(meta.content)),
        Target("accounts", accounts_url, auth, len(accounts.content)),
        Target("usage page", usage_url, auth, len(usage.content)),
    ]


def ceiling_target(http: httpx.Client, base: str, metadata: bytes) -> Target:
    """The bare FastAPI ceiling, checked to answer the metadata document's very bytes."""
    url = f"{base}/.well-known/cds-server-metadata.json"
    answer = http.get(url)
    require(
        answer.status_code == 200 and answer.content == metadata,
        f"the ceiling application does not answer the metadata bytes: {answer.status_code}",
    )
    return Target(CEILING, url, "", len(metadata))


@dataclass
class Cell:
    rps: float
    p50_ms: float
    p99_ms: float


def run_wrk(target: Target, connections: int) -> Cell:
    argv = [
        shutil.which("wrk") or "wrk",
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{SECONDS}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "wrk_report.lua"),
        target.url,
    ]
    env = {**os.environ, "BENCH_AUTHORIZATION": target.authorization}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=SECONDS + 60)
    found = re.search(r"^WRK-REPORT (\{.*\})$", proc.stdout, re.MULTILINE)
    require(found, f"wrk printed no report for {target.name}: {proc.stdout}{proc.stderr}")
    r = json.loads(found.group(1))
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}
    where = f"{target.name} at concurrency {connections}"
    require(r["requests"] > 0, f"wrk made no request to {where}")
    require(not errors, f"wrk saw errors on {where}: {errors}")
    require(
        r["bytes"] / r["requests"] >= target.body_bytes,
        f"{where}: {r['bytes'] / r['requests']:.0f} bytes per answer, body is {target.body_bytes}",
    )
    return Cell(r["requests"] / (r["duration_us"] / 1e6), r["p50_us"] / 1e3, r["p99_us"] / 1e3)


def year_of_usage(http: httpx.Client, apis: dict, token: str) -> tuple[float, int, int, int]:
    """Seconds to read every page of the meter's usage; pages, value sets and bytes read."""
    start = time.perf_counter()
    pages = sets = size = segments = 0
    next_url: str | None = f"{apis['cds_usagesegments_api']}?cds_meterdevice_ids={METER}"
    while next_url:
        r = http.get(next_url, headers={"Authorization": f"Bearer {token}"})
        require(r.status_code == 200, f"usage page {pages + 1}: {r.status_code}")
        body = r.json()
        pages += 1
        size += len(r.content)
        segments += len(body["usage_segments"])
        sets += sum(len(s["values"]) for s in body["usage_segments"])
        next_url = body["next"]
    seconds = time.perf_counter() - start
    require(
        segments == YEAR_SEGMENTS and sets == YEAR_VALUE_SETS,
        f"a year of usage is {YEAR_SEGMENTS} segments and {YEAR_VALUE_SETS} value sets; "
        f"the token saw {segments} and {sets}",
    )
    return seconds, pages, sets, size


def main() -> None:
    require(shutil.which("wrk"), "wrk is not installed: run `make wrk`")
    with tempfile.TemporaryDirectory(prefix="cdsgen-serve-bench-") as tmp:
        server, base = start_server(Path(tmp, "bench.sqlite3"))
        ceiling = None
        try:
            with httpx.Client(timeout=60) as http:
                token, apis = consent_token(http, base)
                # the year first: its first read finds nothing computed yet for this token
                year = [year_of_usage(http, apis, token) for _ in range(YEAR_RUNS + 1)]
                endpoints = targets(http, base, token, apis)
                metadata = http.get(endpoints[0].url).content
                ceiling, ceiling_base = start_ceiling(Path(tmp), metadata)
                endpoints.append(ceiling_target(http, ceiling_base, metadata))
                cells: dict[tuple[str, int], list[Cell]] = {}
                for _ in range(REPEATS):
                    for c in CONCURRENCY:
                        for t in endpoints:
                            cells.setdefault((t.name, c), []).append(run_wrk(t, c))
        finally:
            stop(server)
            if ceiling is not None:
                stop(ceiling)
    report(endpoints, cells, year)


def report(endpoints: list[Target], cells: dict, year: list) -> None:
    print(
        f"cdsgen serve, {WORKERS} worker(s), wrk on loopback; median of {REPEATS} interleaved "
        f"runs of {SECONDS}s per cell; {load_note()}"
    )
    rows = []
    for t in endpoints:
        for c in CONCURRENCY:
            runs = cells[(t.name, c)]
            rows.append(
                [
                    f"{t.name} ({t.body_bytes / 1000:,.1f} KB)",
                    str(c),
                    f"{median([r.rps for r in runs]):,.0f}",
                    f"{median([r.p50_ms for r in runs]):.1f}",
                    f"{median([r.p99_ms for r in runs]):.1f}",
                ]
            )
    print_table(["endpoint", "conc.", "req/s", "p50 ms", "p99 ms"], rows)
    first, pages, sets, size = year[0]
    seconds = median([y[0] for y in year[1:]])
    print(
        f"one year of 15-min usage for {METER}: {sets:,} value sets, {pages} pages, "
        f"{size / 1e6:.2f} MB: first read {first * 1000:,.0f} ms (cold: nothing computed "
        f"for the token yet), then {seconds * 1000:,.0f} ms (median of {len(year) - 1})"
    )
    ceiling = median([r.rps for r in cells[(CEILING, 8)]])
    print("aims at concurrency 8:")
    for name, aim in AIMS.items():
        rps = median([r.rps for r in cells[(name, 8)]])
        print(
            f"  {name}: {rps:,.0f} req/s >= {aim:,}: {verdict(rps, aim, higher_is_better=True)}"
            f" ({rps / ceiling:.0%} of the ceiling's {ceiling:,.0f})"
        )
    p99 = median([r.p99_ms for r in cells[("usage page", 8)]])
    print(f"  usage page p99 {p99:.0f} ms <= {AIM_USAGE_P99_MS}: {verdict(p99, AIM_USAGE_P99_MS)}")
    for label, ms in (("first read", first * 1000), ("repeated reads", seconds * 1000)):
        print(f"  year of usage, {label}: {ms:.0f} ms <= {AIM_YEAR_MS}: {verdict(ms, AIM_YEAR_MS)}")


if __name__ == "__main__":
    main()
