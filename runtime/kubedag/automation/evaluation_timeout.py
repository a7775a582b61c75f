"""A time limit on sensor evaluations in the daemon.

The daemon evaluates the sensors of its workspace in its own process, one after another, so a
sensor function that never returns (a network call without a timeout) would stop every sensor
after it, for good. Each evaluation therefore runs in a thread of its own, and the daemon waits
for it at most `KUBEDAG_SENSOR_EVALUATION_TIMEOUT_SECONDS` (default 60; 0 means no limit). An
evaluation that takes longer is a FAILURE tick saying so; the cursor stays where it was and the
sensor is evaluated again after its interval.

Python cannot stop a thread from outside: an evaluation that timed out goes on in the background
until its function returns, and what it returns is thrown away (no run, no cursor). While it
goes on, the same sensor is not evaluated again (each of its ticks fails saying why), so a
sensor that hangs for good holds one thread, not one more per tick.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from kubedag.errors import KubedagError

T = TypeVar("T")
TIMEOUT_ENV = "KUBEDAG_SENSOR_EVALUATION_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 60.0


class EvaluationTimeoutError(KubedagError):
    """An evaluation took longer than its time limit, or one that did is still running."""


def timeout_from_env(environ: Mapping[str, str]) -> float | None:
    """The limit `KUBEDAG_SENSOR_EVALUATION_TIMEOUT_SECONDS` sets, in seconds; None: no limit."""
    text = environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise KubedagError(
            f"{TIMEOUT_ENV}={text!r}: expected a number of seconds (for example 60 or 2.5), or "
            "0 for no limit."
        )
    return seconds or None


def timed_out_message(what: str, limit: float) -> str:
    return (
        f"{what}: the evaluation timed out after {limit:g}s ({TIMEOUT_ENV}); it goes on in the "
        "background and its result will be ignored. Make the function return sooner (give its "
        "network calls a timeout), or raise the limit."
    )


def still_running_message(what: str, limit: float, timed_out_at: float, now: float) -> str:
    return (
        f"{what}: not evaluated, because its evaluation that timed out after {limit:g}s, "
        f"{now - timed_out_at:.0f}s ago, has still not returned; it is evaluated again once "
        "that one has."
    )


@dataclass(frozen=True)
class _Abandoned:
    thread: threading.Thread
    timed_out_at: float


@dataclass
class TimedEvaluations:
    """Calls evaluations with a time limit (`timeout_seconds`, None: none), one at a time per
    key, remembering those that outlived their limit until they return."""

    timeout_seconds: float | None
    _abandoned: dict[str, _Abandoned] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, key: str, what: str, evaluate: Callable[[], T]) -> T:
        """`evaluate()`'s result, or what it raised. Raises `EvaluationTimeoutError` when it
        takes longer than the limit, or when an earlier call for `key` that did still runs;
        `what` names the evaluation in the message ("sensor 'new_files'")."""
        limit = self.timeout_seconds
        with self._lock:
            left = self._abandoned.get(key)
            if left is not None and left.thread.is_alive():
                assert limit is not None
                raise EvaluationTimeoutError(
                    still_running_message(what, limit, left.timed_out_at, time.time())
                )
            self._abandoned.pop(key, None)
        if limit is None:
            return evaluate()
        outcome: list[tuple[bool, object]] = []
        context = contextvars.copy_context()

        def run() -> None:
            try:
                outcome.append((True, context.run(evaluate)))
            except BaseException as exc:  # handed to the waiting thread
                outcome.append((False, exc))

        thread = threading.Thread(target=run, name=f"kubedag-evaluate-{key}", daemon=True)
        thread.start()
        thread.join(limit)
        if thread.is_alive():
            with self._lock:
                self._abandoned[key] = _Abandoned(thread, time.time())
            raise EvaluationTimeoutError(timed_out_message(what, limit))
        returned, value = outcome[0]
        if not returned:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]
