"""Turning an interrupt into `ExecutionInterruptedError` for a stretch of code.

Inside `raise_execution_interrupts()`, a SIGINT (Ctrl-C) — and a SIGTERM, which Kubernetes sends
to stop a pod — raises `ExecutionInterruptedError` (the reference's
`DagsterExecutionInterruptedError`) where the code is, instead of `KeyboardInterrupt` or ending
the process. It is a `BaseException`, so an `except Exception:` in between does not swallow it.
The previous handlers come back when the block ends. Signal handlers belong to the main thread:
elsewhere the block changes nothing, as in the reference.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from kubedag.errors import ExecutionInterruptedError

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def raise_execution_interrupts() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `ExecutionInterruptedError`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        raise ExecutionInterruptedError()

    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        for signum in _SIGNALS:
            signal.signal(signum, interrupted)
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: set from outside Python; it cannot be put back
                signal.signal(signum, handler)
