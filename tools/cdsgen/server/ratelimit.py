"""Token-bucket rate limits per client address, for the endpoints anyone may call.

Open registration, the token endpoint and the consent sign-in are reachable without (valid)
credentials, so nothing else stops a flood of registrations or a password / secret
guessing run. Each bucket holds ``burst`` requests and refills at ``per_second``; an empty
bucket answers 429 with ``Retry-After`` (RFC 6585 §4) until one request's worth is back.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then ``per_second`` on average."""

    burst: int
    per_second: float


@dataclass(frozen=True)
class Limits:
    """The rate limits of the reference Server (per client address)."""

    registration: Rate = Rate(burst=30, per_second=0.5)
    """Registrations: 30 at once, then one per two seconds."""
    failed_token: Rate = Rate(burst=20, per_second=0.2)
    """Token requests that fail (wrong secret, bad code): 20, then one per five seconds."""
    consent: Rate = Rate(burst=60, per_second=1.0)
    """Consent page posts (sign-in and decisions)."""
    failed_sign_in: Rate = Rate(burst=10, per_second=0.1)
    """Wrong sandbox passwords: 10, then one per ten seconds."""


#: Limits so wide they never apply: for test suites that drive thousands of requests.
UNLIMITED = Limits(
    registration=Rate(10**9, 1e9),
    failed_token=Rate(10**9, 1e9),
    consent=Rate(10**9, 1e9),
    failed_sign_in=Rate(10**9, 1e9),
)


@dataclass
class Buckets:
    """One bucket per (name, client address); thread-safe."""

    limits: Limits
    _levels: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _rate(self, name: str) -> Rate:
        rate: Rate = getattr(self.limits, name)
        return rate

    def _level(self, name: str, who: str, now: float) -> float:
        rate = self._rate(name)
        level, since = self._levels.get((name, who), (float(rate.burst), now))
        return min(float(rate.burst), level + (now - since) * rate.per_second)

    def retry_after(self, name: str, who: str) -> int | None:
        """Seconds until ``who`` may call again, ``None`` when a request is left now."""
        with self._lock:
            now = time.monotonic()
            level = self._level(name, who, now)
            if level >= 1:
                return None
            return max(1, math.ceil((1 - level) / self._rate(name).per_second))

    def take(self, name: str, who: str) -> None:
        """Spend one request of ``who``'s bucket (it may go empty, not below)."""
        with self._lock:
            now = time.monotonic()
            self._levels[(name, who)] = (max(0.0, self._level(name, who, now) - 1), now)
            if len(self._levels) > 100_000:  # forget full buckets rather than grow without end
                self._levels = {
                    k: v for k, v in self._levels.items() if v[0] < self._rate(k[0]).burst - 1
                }
