"""Rate limits kept in the Server's database (``cdsgen.server.ratelimit``): every process of
``cdsgen serve --workers N`` spends from the same buckets."""

from __future__ import annotations

import time

import pytest
from cdsgen.server import ratelimit
from cdsgen.server.ratelimit import Buckets, Limits, Rate
from cdsgen.server.store import Store

#: three registrations at once, then one per hundred seconds
TIGHT = Limits(registration=Rate(burst=3, per_second=0.01))


def test_two_processes_spend_from_the_same_buckets(tmp_path):
    """Two Stores on one file are two connections, as two worker processes have."""
    first, second = (Buckets(TIGHT, Store(tmp_path / "db.sqlite3")) for _ in range(2))
    for buckets in (first, second, first):
        assert buckets.retry_after("registration", "10.0.0.1") is None
        buckets.take("registration", "10.0.0.1")
    assert first.retry_after("registration", "10.0.0.1") == 100
    assert second.retry_after("registration", "10.0.0.1") == 100
    assert second.retry_after("registration", "10.0.0.2") is None  # another address
    assert first.retry_after("consent", "10.0.0.1") is None  # another bucket


def test_a_bucket_refills_with_time(tmp_path, monkeypatch):
    buckets = Buckets(TIGHT, Store(tmp_path / "db.sqlite3"))
    now = time.time()
    monkeypatch.setattr(ratelimit.time, "time", lambda: now)
    for _ in range(4):  # one more than the burst: the bucket goes empty, not below
        buckets.take("registration", "10.0.0.1")
    assert buckets.retry_after("registration", "10.0.0.1") == 100
    monkeypatch.setattr(ratelimit.time, "time", lambda: now + 60)
    assert buckets.retry_after("registration", "10.0.0.1") == 40
    monkeypatch.setattr(ratelimit.time, "time", lambda: now + 100)
    assert buckets.retry_after("registration", "10.0.0.1") is None


@pytest.mark.parametrize("refilled", [True, False])
def test_full_buckets_are_forgotten(tmp_path, monkeypatch, refilled):
    store = Store(tmp_path / "db.sqlite3")
    buckets = Buckets(TIGHT, store)
    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 3)
    now = time.time()
    monkeypatch.setattr(ratelimit.time, "time", lambda: now)
    buckets.take("registration", "10.0.0.1")
    # 300 s fill a bucket of 3 at one per 100 s, whatever was left in it
    later = now + (301 if refilled else 299)
    monkeypatch.setattr(ratelimit.time, "time", lambda: later)
    buckets.take("registration", "10.0.0.2")
    buckets.take("registration", "10.0.0.3")  # the third spend prunes
    rows = store.db().execute("SELECT who FROM rate_buckets ORDER BY who").fetchall()
    kept = ["10.0.0.2", "10.0.0.3"] if refilled else ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert [who for (who,) in rows] == kept
