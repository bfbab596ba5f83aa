"""Getting a Customer's consent for the authorization-code checks.

A consent hook takes the authorization URL and returns the URL the Server finally redirected
the browser to (the redirect URI with ``code`` and ``state``). Three kinds:

* :class:`FormConsent` fills plain HTML consent forms the way the reference Server's consent
  contract describes them (sign-in with ``username``/``password``, hidden inputs such as
  ``csrf_token``, ``pick`` checkboxes, ``decision=approve``), keeping cookies and following
  redirects — for CI against ``cdsgen serve`` or a test Server with such a page;
* :class:`CommandConsent` runs a command of your own (``--consent-command``);
* :class:`LoopbackConsent` prints the URL for a person and waits on a loopback redirect URI.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urljoin

import httpx


class ConsentError(RuntimeError):
    """Consent could not be obtained (the message says why)."""


@dataclass(frozen=True)
class ConsentRequest:
    authorization_url: str
    redirect_uri: str
    scope: str
    #: Which of the run's grants this is (0, 1, …): hooks give different grants different
    #: Customers or selections, so that grant isolation can be tested.
    grant_index: int


ConsentHook = Callable[[ConsentRequest], str]


# -- HTML forms ------------------------------------------------------------------------------
@dataclass
class _Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag in ("input", "button") and self.forms:
            a.setdefault("type", "submit" if tag == "button" else "text")
            self.forms[-1].inputs.append(a)
        elif tag == "select" and self.forms:
            self.forms[-1].inputs.append({"type": "select", "name": a.get("name", "")})
        elif tag == "option" and self.forms and self.forms[-1].inputs:
            select = self.forms[-1].inputs[-1]
            if select.get("type") == "select" and ("value" not in select or "selected" in a):
                select["value"] = a.get("value", "")


def parse_forms(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


@dataclass
class FormConsent:
    """Fills consent forms per the reference Server's consent contract.

    Grant ``i`` signs in as ``customers[i % len(customers)]``. When a page asks no sign-in
    (every sandbox customer's data on one form), grant ``i`` picks only the ``i``-th box, so
    two grants still cover different Customers."""

    customers: tuple[str, ...] = ("C-100234", "C-100567", "C-200111")
    password: str = "sandbox"
    timeout: float = 30.0
    max_pages: int = 8

    def __call__(self, request: ConsentRequest) -> str:
        customer = self.customers[request.grant_index % len(self.customers)]
        signed_in = False
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
            url = request.authorization_url
            response = http.get(url)
            for _ in range(self.max_pages):
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    if url.startswith(request.redirect_uri):
                        return url
                    response = http.get(url)
                    continue
                if response.status_code != 200:
                    raise ConsentError(
                        f"consent page {url} answered {response.status_code}: {response.text[:200]}"
                    )
                forms = [f for f in parse_forms(response.text) if f.method == "post"]
                if not forms:
                    raise ConsentError(f"consent page {url} has no form to post")
                form = forms[0]
                data, signs_in = self._fill(form, customer, request.grant_index, signed_in)
                signed_in = signed_in or signs_in
                url = urljoin(url, form.action or url)
                form_data: dict[str, list[str]] = {}
                for k, v in data:
                    form_data.setdefault(k, []).append(v)
                response = http.post(url, data=form_data)
            raise ConsentError(
                f"no redirect to {request.redirect_uri} after {self.max_pages} pages"
            )

    def _fill(
        self, form: _Form, customer: str, index: int, signed_in: bool
    ) -> tuple[list[tuple[str, str]], bool]:
        data: list[tuple[str, str]] = []
        names = {i.get("name") for i in form.inputs}
        signs_in = "username" in names and "password" in names
        picks = [i for i in form.inputs if i.get("name") == "pick"]
        for i in form.inputs:
            name, kind = i.get("name"), i.get("type", "text").lower()
            if not name:
                continue
            if name == "username":
                data.append((name, customer))
            elif name == "password":
                data.append((name, self.password))
            elif name in ("pick", "decision") or kind in ("submit", "button", "reset"):
                continue  # chosen below
            elif kind in ("checkbox", "radio"):
                if "checked" in i:  # what the page preselects stays as it is
                    data.append((name, i.get("value", "on")))
            else:  # hidden (csrf_token), select, and any prefilled field
                data.append((name, i.get("value", "")))
        if picks:
            # signed in: every box is this Customer's; else one box per grant
            chosen = picks if signed_in or signs_in else [picks[index % len(picks)]]
            data += [("pick", p.get("value", "")) for p in chosen]
        if any(i.get("name") == "decision" for i in form.inputs):
            data.append(("decision", "approve"))
        return data, signs_in


# -- a command of the user's ------------------------------------------------------------------
@dataclass
class CommandConsent:
    """Runs ``command`` with ``CDS_AUTHORIZATION_URL``, ``CDS_REDIRECT_URI``, ``CDS_SCOPE``
    and ``CDS_GRANT_INDEX`` in its environment; its standard output's last line is the
    redirect URL with the code."""

    command: str
    timeout: float = 120.0

    def __call__(self, request: ConsentRequest) -> str:
        env = {
            **os.environ,
            "CDS_AUTHORIZATION_URL": request.authorization_url,
            "CDS_REDIRECT_URI": request.redirect_uri,
            "CDS_SCOPE": request.scope,
            "CDS_GRANT_INDEX": str(request.grant_index),
        }
        try:
            proc = subprocess.run(
                shlex.split(self.command),
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            raise ConsentError(f"consent command did not finish in {self.timeout:g}s") from None
        except OSError as exc:
            raise ConsentError(f"consent command cannot run: {exc}") from None
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise ConsentError(
                f"consent command exited {proc.returncode}: {proc.stderr.strip()[:300]}"
            )
        return lines[-1].strip()


# -- a person at a browser --------------------------------------------------------------------
@dataclass
class LoopbackConsent:
    """Prints the authorization URL and waits for the browser to come back to a loopback
    redirect URI (``http://127.0.0.1:PORT/callback``) this process listens on."""

    port: int = 0
    timeout: float = 300.0
    _server: HTTPServer | None = None

    @property
    def redirect_uri(self) -> str:
        server = self._listen()
        return f"http://127.0.0.1:{server.server_address[1]}/callback"

    def _listen(self) -> HTTPServer:
        if self._server is None:
            received: list[str] = []

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                    received.append(self.path)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.end_headers()
                    self.wfile.write(b"cds-conformance: consent received, you may close this.")

                def log_message(self, *args: object) -> None:
                    pass

            self._server = HTTPServer(("127.0.0.1", self.port), Handler)
            self._server.received = received  # type: ignore[attr-defined]
        return self._server

    def __call__(self, request: ConsentRequest) -> str:
        server = self._listen()
        received: list[str] = server.received  # type: ignore[attr-defined]
        received.clear()
        print(
            f"\nOpen this URL, sign in as a test Customer and approve:\n"
            f"  {request.authorization_url}\n(waiting up to {self.timeout:g}s on "
            f"{self.redirect_uri})",
            file=sys.stderr,
        )
        server.timeout = 1.0
        waited = 0.0
        while not received and waited < self.timeout:
            server.handle_request()
            waited += 1.0
        if not received:
            raise ConsentError(f"no browser came back to {self.redirect_uri} in {self.timeout:g}s")
        return urljoin(self.redirect_uri, received[0])

    def close(self) -> None:
        if self._server is not None:
            self._server.server_close()
