"""Starting the operator: in the foreground (`kubedag operator`, `python -m kubedag_operator`)
or in a thread (tests, benchmarks), with the handlers of `kubedag_operator.handlers`.

`OperatorOptions` says which namespaces to watch (or all), and the peering: by default the
replicas share the peering object `kubedag-operator` — created here when missing — and only the
one with the highest priority acts; `standalone` runs without peering. The replica's peering
identity is ours (`OperatorOptions.identity`, passed to kopf), so the metrics page can tell
from the shared records whether this replica is the one that acts.

Each replica is meant to be its own process (a pod). `OperatorThread` runs one in a thread for
tests; two of them in one process do work (kopf keeps its state per operator), but they share
the handler registry, the loggers and the metric counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any, cast

from kubedag_operator.state import OperatorOptions


def load_handlers() -> None:
    """Register every handler with kopf (importing the package is enough)."""
    import kubedag_operator.handlers  # noqa: F401


def _prepare(options: OperatorOptions) -> Any:
    import kopf

    from kubedag_operator.kube import KubeApi

    load_handlers()
    if not options.standalone:
        kube = KubeApi(options.kubeconfig_file)
        try:
            kube.ensure_peering(options.peering_name, options.namespaces, options.all_namespaces)
        finally:
            kube.close()
    return kopf.Memo(options=options)


async def run_operator(
    options: OperatorOptions,
    *,
    stop_flag: threading.Event | None = None,
    ready_flag: threading.Event | None = None,
) -> None:
    """Run the operator until `stop_flag` is set (or SIGTERM/SIGINT in the main thread)."""
    import kopf

    if not options.all_namespaces and not options.namespaces:
        raise ValueError("Give the namespaces to watch, or all_namespaces=True.")
    memo = await asyncio.get_running_loop().run_in_executor(None, _prepare, options)
    async with _metrics_page(options):
        await kopf.operator(
            clusterwide=options.all_namespaces,
            namespaces=() if options.all_namespaces else list(options.namespaces),
            standalone=True if options.standalone else None,
            peering_name=None if options.standalone else options.peering_name,
            priority=options.priority,
            identity=cast(Any, options.identity),  # kopf's `Identity` is a NewType of str
            liveness_endpoint=options.liveness_endpoint,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            memo=memo,
        )


@contextlib.asynccontextmanager
async def _metrics_page(options: OperatorOptions) -> AsyncIterator[None]:
    """The `/metrics` page while the operator runs (nothing when `metrics_port` is None)."""
    if options.metrics_port is None:
        yield
        return
    from kubedag_operator import metrics
    from kubedag_operator.kube import KubeApi
    from kubedag_operator.peering import replica_acts

    kube = KubeApi(options.kubeconfig_file)

    async def collect() -> list[metrics.Metric]:
        active = await asyncio.get_running_loop().run_in_executor(None, replica_acts, kube, options)
        return metrics.operator_metrics(
            active=active,
            identity=options.identity,
            peering="" if options.standalone else options.peering_name,
            priority=options.priority,
            counts=metrics.handler_counts(),
            memory=metrics.resident_memory_bytes(),
        )

    try:
        async with metrics.serving_metrics(options.metrics_port, collect):
            yield
    finally:
        kube.close()


def run_forever(options: OperatorOptions) -> None:
    """The operator in the foreground; kopf stops it on SIGTERM or SIGINT."""
    asyncio.run(run_operator(options))


class OperatorThread:
    """The operator in a thread of this process: `start()`, then `stop()` (or `with`)."""

    def __init__(self, options: OperatorOptions) -> None:
        self.options = options
        self.stop_flag = threading.Event()
        self.ready_flag = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kubedag-operator", daemon=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(
                run_operator(self.options, stop_flag=self.stop_flag, ready_flag=self.ready_flag)
            )
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self.ready_flag.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def start(self, timeout: float = 30.0) -> OperatorThread:
        self._thread.start()
        if not self.ready_flag.wait(timeout):
            raise TimeoutError(f"the operator was not ready within {timeout}s")
        if self.error is not None:
            raise RuntimeError(f"the operator failed to start: {self.error!r}") from self.error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_flag.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the operator did not stop within {timeout}s")
        if self.error is not None:
            raise RuntimeError(f"the operator failed: {self.error!r}") from self.error

    def __enter__(self) -> OperatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
