"""The one way the suite talks to a Server: an httpx client with a request budget, a rate
limit and timeouts, recording every exchange (secrets redacted) as evidence for the check
that is running."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from cds_conformance.model import Exchange

#: Form, query and JSON fields whose values never appear in a report.
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "access_token",
        "refresh_token",
        "code",
        "code_verifier",
        "password",
        "csrf_token",
        "token",
        "id_token",
    }
)
_BODY_LIMIT = 20_000
REDACTED = "REDACTED"


#: How often and how long a 429 answer is waited out before it counts as the answer.
RETRIES = 3
MAX_RETRY_WAIT = 10.0


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: not worth waiting for in a test run


class BudgetExhausted(RuntimeError):
    """The run used every request it was allowed."""


class ServerTimeout(RuntimeError):
    """The Server did not answer in time (``fatal``: several times in a row — stop)."""

    def __init__(self, message: str, *, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal


#: Requests in a row without an answer after which the run stops.
MAX_SILENT = 3


class Transport:
    def __init__(
        self,
        *,
        budget: int = 5000,
        rate: float = 0.0,
        timeout: float = 30.0,
        verify: bool = True,
    ):
        self.budget = budget
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.timeout = timeout
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, verify=verify)
        self.sent = 0
        self._last = 0.0
        self._lock = threading.Lock()
        self.silent = 0  # requests in a row without an answer
        #: Exchanges of the check that is running (set by the runner).
        self.recording: list[Exchange] | None = None

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; a 429 is waited out as its ``Retry-After`` asks (up to
        ``MAX_RETRY_WAIT`` seconds, ``RETRIES`` times), as a polite Client does."""
        for attempt in range(RETRIES + 1):
            response = self._send(method, url, **kwargs)
            if response.status_code != 429 or attempt == RETRIES:
                return response
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is None or wait > MAX_RETRY_WAIT:
                return response
            time.sleep(wait)
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self._lock:
            if self.sent >= self.budget:
                raise BudgetExhausted(
                    f"the request budget of {self.budget} is used up (--max-requests)"
                )
            self.sent += 1
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
        started = time.monotonic()
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            self._record(method, url, kwargs, None, started, f"no answer in {self.timeout:g}s")
            self.silent += 1
            raise ServerTimeout(
                f"{method} {_strip_query(url)}: no answer within {self.timeout:g}s (--timeout)"
                + self._stopping(),
                fatal=self.silent >= MAX_SILENT,
            ) from None
        except httpx.HTTPError as exc:
            self._record(method, url, kwargs, None, started, str(exc))
            self.silent += 1
            raise ServerTimeout(
                f"{method} {_strip_query(url)}: {exc}" + self._stopping(),
                fatal=self.silent >= MAX_SILENT,
            ) from None
        self.silent = 0
        self._record(method, str(response.request.url), kwargs, response, started, None)
        return response

    def _stopping(self) -> str:
        if self.silent >= MAX_SILENT:
            return f"; {self.silent} requests in a row went unanswered, so the run stops"
        return ""

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    # -- evidence ----------------------------------------------------------------------------
    def _record(
        self,
        method: str,
        url: str,
        kwargs: dict[str, Any],
        response: httpx.Response | None,
        started: float,
        error: str | None,
    ) -> None:
        if self.recording is None:
            return
        # kept raw while the check runs; :func:`redact` makes evidence of failed checks only
        self.recording.append(
            Exchange(
                method=method,
                url=url,
                request_headers=dict(kwargs.get("headers") or {}),
                request_body=kwargs.get("data") or kwargs.get("json") or "",  # type: ignore[arg-type]
                status=response.status_code if response is not None else None,
                response_headers=dict(response.headers) if response is not None else {},
                response_body=response.text if response is not None else "",
                elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                error=error,
            )
        )


def exchange_of(response: httpx.Response) -> Exchange:
    """An exchange rebuilt from a response kept elsewhere (raw; redacted like the others)."""
    request = response.request
    body = request.content.decode("utf-8", "replace") if request.content else ""
    form = dict(parse_qsl(body)) if "form" in request.headers.get("content-type", "") else None
    return Exchange(
        method=request.method,
        url=str(request.url),
        request_headers=dict(request.headers),
        request_body=form if form is not None else body,  # type: ignore[arg-type]
        status=response.status_code,
        response_headers=dict(response.headers),
        response_body=response.text,
        elapsed_ms=round(response.elapsed.total_seconds() * 1000, 1),
    )


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _redact_pairs(data: Any) -> list[tuple[str, Any]]:
    pairs = data.items() if isinstance(data, dict) else data
    return [(k, REDACTED if k in SECRET_FIELDS else v) for k, v in pairs]


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode(_redact_pairs(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(parts._replace(query=query))


def redact_headers(headers: Any) -> dict[str, str]:
    out = {}
    for k, v in dict(headers).items():
        if k.lower() == "location":
            out[k] = redact_url(v)
        elif k.lower() in ("authorization", "cookie", "set-cookie"):
            scheme = v.split(" ", 1)[0] if k.lower() == "authorization" else ""
            out[k] = f"{scheme} {REDACTED}".strip()
        else:
            out[k] = v
    return out


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_FIELDS else redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


_LOCATION_CODE = re.compile(r"([?&](?:code|access_token)=)[^&\"'\s<]+")


def redact(e: Exchange) -> Exchange:
    """The exchange as evidence: no secret, token, code or cookie in it."""
    body: Any = e.request_body
    if isinstance(body, dict | list) and not isinstance(body, str):
        if isinstance(body, dict) and all(not isinstance(v, dict) for v in body.values()):
            body = urlencode(_redact_pairs(body), doseq=True)
        else:
            body = json.dumps(redact_json(body), indent=1, ensure_ascii=False)
    return Exchange(
        method=e.method,
        url=redact_url(e.url),
        request_headers=redact_headers(e.request_headers),
        request_body=str(body),
        status=e.status,
        response_headers=redact_headers(e.response_headers),
        response_body=redact_text(e.response_body, e.response_headers),
        elapsed_ms=e.elapsed_ms,
        error=e.error,
    )


def redact_text(text: str, headers: dict[str, str]) -> str:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in content_type:
        try:
            text = json.dumps(redact_json(json.loads(text)), indent=1, ensure_ascii=False)
        except ValueError:
            pass
    text = _LOCATION_CODE.sub(lambda m: m.group(1) + REDACTED, text)
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "\n… (cut)"
