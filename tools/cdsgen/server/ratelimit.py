"""Token-bucket rate limits per client address, for the endpoints anyone may call.

Open registration, the token endpoint and the consent sign-in are reachable without (valid)
credentials, so nothing else stops a flood of registrations or a password / secret
guessing run. Each bucket holds ``burst`` requests and refills at ``per_second``; an empty
bucket answers 429 with ``Retry-After`` (RFC 6585 §4) until one request's worth is back.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass, field, fields

from cdsgen.server.store import Store


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


#: Spends between two prunings of full buckets.
PRUNE_EVERY = 1000


@dataclass
class Buckets:
    """One bucket per (name, client address), kept in the Server's database: every worker
    process of ``cdsgen serve --workers N`` spends from the same buckets, so the limits hold
    for the whole Server, not N times over. A spend is one short write transaction; a check
    only reads (WAL never makes a reader wait)."""

    limits: Limits
    store: Store
    #: spends since the last pruning of full buckets (in this process)
    _spent: int = field(default=0, repr=False)

    def _rate(self, name: str) -> Rate:
        rate: Rate = getattr(self.limits, name)
        return rate

    def _level(self, db: sqlite3.Connection, name: str, who: str, now: float) -> float:
        rate = self._rate(name)
        row = db.execute(
            "SELECT level, since FROM rate_buckets WHERE name = ? AND who = ?", (name, who)
        ).fetchone()
        if row is None:
            return float(rate.burst)
        level, since = row
        return min(float(rate.burst), level + max(0.0, now - since) * rate.per_second)

    def retry_after(self, name: str, who: str) -> int | None:
        """Seconds until ``who`` may call again, ``None`` when a request is left now."""
        level = self._level(self.store.db(), name, who, time.time())
        if level >= 1:
            return None
        return max(1, math.ceil((1 - level) / self._rate(name).per_second))

    def take(self, name: str, who: str) -> None:
        """Spend one request of ``who``'s bucket (it may go empty, not below)."""
        with self.store.write() as db:
            now = time.time()
            level = max(0.0, self._level(db, name, who, now) - 1)
            db.execute(
                "INSERT INTO rate_buckets (name, who, level, since) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name, who) DO UPDATE SET level = excluded.level, "
                "since = excluded.since",
                (name, who, level, now),
            )
            self._spent += 1
            if self._spent >= PRUNE_EVERY:
                self._spent = 0
                self._prune(db, now)

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        """Forget the buckets that have filled up again (a missing bucket is a full one), so
        the table holds only the addresses that called within a refill time."""
        for name in (f.name for f in fields(Limits)):
            rate = self._rate(name)
            db.execute(
                "DELETE FROM rate_buckets WHERE name = ? AND since < ?",
                (name, now - rate.burst / rate.per_second),
            )
