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
REDACTED = "«redacted»"


class BudgetExhausted(RuntimeError):
    """The run used every request it was allowed."""


class ServerTimeout(RuntimeError):
    """The Server did not answer in time."""


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
        #: Exchanges of the check that is running (set by the runner).
        self.recording: list[Exchange] | None = None

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
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
            raise ServerTimeout(
                f"{method} {_strip_query(url)}: no answer within {self.timeout:g}s (--timeout)"
            ) from None
        except httpx.HTTPError as exc:
            self._record(method, url, kwargs, None, started, str(exc))
            raise ServerTimeout(f"{method} {_strip_query(url)}: {exc}") from None
        self._record(method, str(response.request.url), kwargs, response, started, None)
        return response

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
        body = ""
        if "data" in kwargs and kwargs["data"] is not None:
            body = urlencode(_redact_pairs(kwargs["data"]), doseq=True)
        elif "json" in kwargs and kwargs["json"] is not None:
            body = json.dumps(redact_json(kwargs["json"]), indent=1)
        self.recording.append(
            Exchange(
                method=method,
                url=redact_url(url),
                request_headers=redact_headers(kwargs.get("headers") or {}),
                request_body=body,
                status=response.status_code if response is not None else None,
                response_headers=redact_headers(dict(response.headers)) if response else {},
                response_body=redact_text(response) if response is not None else "",
                elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                error=error,
            )
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


def redact_text(response: httpx.Response) -> str:
    text = response.text
    if "json" in response.headers.get("content-type", ""):
        try:
            text = json.dumps(redact_json(response.json()), indent=1)
        except ValueError:
            pass
    text = _LOCATION_CODE.sub(lambda m: m.group(1) + REDACTED, text)
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "\n… (cut)"
