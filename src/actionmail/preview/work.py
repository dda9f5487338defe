"""A computation that requests can wait for, and give up on: what keeps one newsletter's load from holding up the
preview (:mod:`actionmail.preview.workspace`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Work(Generic[T]):
    """One computation in a thread of its own, that any number of requests wait for, each for only so long.

    A thread of its own, not the request's: Python can't stop a thread, so a load that never ends (an alias bomb,
    a named pipe where a file should be) must not be one the request, or a lock every request needs, waits on.
    It runs on; a save starts a new Work, and the page shows that one.
    """

    def __init__(self, name: str, compute: Callable[[], T]) -> None:
        self._done = threading.Event()
        self._value: T | None = None
        self._error: Exception | None = None
        self.overdue = False  # a request has given up on it
        self._started = time.monotonic()
        threading.Thread(target=self._run, args=(compute,), name=name, daemon=True).start()

    def _run(self, compute: Callable[[], T]) -> None:
        try:
            self._value = compute()
        except Exception as e:
            self._error = e
        finally:
            self._done.set()

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for it to end; has it?"""
        return self._done.wait(timeout)

    def running_for(self) -> float:
        return time.monotonic() - self._started

    def result(self, timeout: float | None) -> T:
        """The value, or the computation's exception; TimeoutError if it takes longer than ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: the computation returned
