"""`raise_execution_interrupts()`: an interrupt inside it is `DagsterExecutionInterruptedError`.

The tests send real signals to this process's main thread (`signal.pthread_kill`); Python runs
the handler at the main thread's next bytecode boundary, so the `raise` comes out of the short,
bounded wait that follows.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

import kubedag as dg


def _interrupt(signum: int = signal.SIGINT) -> None:
    signal.pthread_kill(threading.main_thread().ident or 0, signum)
    # The handler raises at a bytecode boundary of this loop, at once in practice; the bound
    # only keeps a broken handler from hanging the suite.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.001)
    raise AssertionError(f"signal {signum} did not raise within 10 s")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_inside_the_block_raises_the_reference_error(signum: int) -> None:
    with pytest.raises(dg.DagsterExecutionInterruptedError), dg.raise_execution_interrupts():
        _interrupt(signum)


def test_user_code_catching_exception_does_not_swallow_it() -> None:
    swallowed = []
    with pytest.raises(dg.DagsterExecutionInterruptedError), dg.raise_execution_interrupts():
        try:
            _interrupt()
        except Exception as exc:
            swallowed.append(exc)
    assert swallowed == []


def test_the_previous_handlers_come_back_afterwards() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with dg.raise_execution_interrupts():
        assert signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    # Outside the block SIGINT is Python's KeyboardInterrupt again.
    with pytest.raises(KeyboardInterrupt):
        _interrupt()


def test_off_the_main_thread_it_changes_nothing() -> None:
    seen: list[object] = []

    def worker() -> None:
        with dg.raise_execution_interrupts():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]


def test_an_op_can_clean_up_on_an_interrupt() -> None:
    cleaned: list[str] = []

    @dg.op
    def long_running() -> None:
        with dg.raise_execution_interrupts():
            try:
                _interrupt()
            except dg.DagsterExecutionInterruptedError:
                cleaned.append("closed the connection")
                raise

    @dg.job
    def job() -> None:
        long_running()

    with pytest.raises(dg.DagsterExecutionInterruptedError):
        job.execute_in_process()
    assert cleaned == ["closed the connection"]
