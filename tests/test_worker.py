"""The forked worker of ``cdsgen generate`` (cdsgen.worker): values, failures and the memo
results a worker used come back to the caller."""

from __future__ import annotations

import os
import time

import pytest
from cdsgen import cache
from cdsgen.worker import ForkedCall, WorkerFailed


def test_the_value_comes_back_from_another_process():
    call = ForkedCall(lambda: {"pid": os.getpid(), "text": "Zähler " * 100_000})
    value = call.result()
    assert value["pid"] != os.getpid()
    assert value["text"] == "Zähler " * 100_000  # larger than a pipe's buffer


def test_a_failure_in_the_worker_is_raised_with_its_traceback():
    def fails():
        raise ValueError("the draft could not be built")

    with pytest.raises(WorkerFailed, match="ValueError: the draft could not be built"):
        ForkedCall(fails).result()


def test_memo_results_of_the_worker_are_kept_by_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("CDSGEN_CACHE_DIR", str(tmp_path))

    def uses_the_cache():
        return cache.memo_table("worker-test").get("key", lambda: "made in the worker")

    assert ForkedCall(uses_the_cache).result() == "made in the worker"
    assert cache.memo_table("worker-test").used == {"key": "made in the worker"}


def test_a_cancelled_worker_is_gone():
    call = ForkedCall(lambda: time.sleep(60))
    pid = call._pid
    call.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)
