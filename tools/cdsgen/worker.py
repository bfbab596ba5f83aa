"""One function call run in a forked process, beside the caller, on a machine's other core.

``cdsgen generate`` builds two versions of the documents (the releases and the editor's
drafts); after the source is loaded they share nothing but the released model, so the draft
version is built in a child process forked from the loaded state (nothing is loaded twice)
while the parent builds the releases, and the released site's pages are rendered in another.
A child sends back its result, pickled, through a pipe, together with what it used of the
cache's memo tables (the parent writes them).

Where ``os.fork`` does not exist, or the caller has other threads (a thread holding a lock
at the fork would leave that lock held forever in the child), the call simply runs in the
caller when its result is asked.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

from cdsgen.cache import memo_results, take_memo_results

T = TypeVar("T")


class WorkerFailed(RuntimeError):
    """The function raised in the child process (the message holds its traceback)."""


class ForkedCall(Generic[T]):
    """``fn()`` started now in a child process; :meth:`result` waits for its value."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._pid = 0
        self._read = -1
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(read)
            status = 0
            try:
                try:
                    reply = pickle.dumps(("value", fn(), memo_results()), pickle.HIGHEST_PROTOCOL)
                except BaseException:  # noqa: BLE001 - everything goes back to the parent
                    reply = pickle.dumps(("error", traceback.format_exc(), {}))
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(reply)
            except BaseException:  # noqa: BLE001 - the parent was killed: nobody to tell
                status = 1
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> T:
        if not self._pid:
            return self._fn()
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()  # read to the end before waiting: a full pipe blocks the child
        self._read = -1
        os.waitpid(self._pid, 0)
        self._pid = 0
        try:
            kind, value, memo = pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise WorkerFailed(f"the worker process ended without a result ({exc})") from None
        if kind == "error":
            raise WorkerFailed(f"the worker process failed:\n{value}")
        take_memo_results(memo)
        return value

    def cancel(self) -> None:
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
