"""The operator's Prometheus metrics: `kubedag operator --metrics-port PORT` serves `/metrics`.

Only what the operator really knows, in Prometheus' text format (version 0.0.4):

- `kubedag_operator_up` — 1 whenever the page answers;
- `kubedag_operator_active` — 1 when this replica acts, 0 while it waits for a peer with a
  higher priority (kopf's peering rule, recomputed from the shared records by
  `kubedag_operator.peering`); always 1 when standalone;
- `kubedag_operator_info{identity, peering, priority}` — this replica's peering identity;
- `kubedag_operator_handler_invocations_total{kind, outcome}` — handler calls by resource kind
  and outcome (`success`, `failure`), counted by `count(kind, outcome)` or the `counted(kind)`
  decorator on each handler's reconcile function (process-wide);
- `process_resident_memory_bytes`, `process_start_time_seconds` — the usual process gauges.

The page is served by aiohttp (kopf's own dependency) in the operator's event loop; each
scrape reads the peering objects once, in a worker thread.
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from kubedag.errors import KubedagError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_PATH = "/metrics"
_PROCESS_START = time.time()


@dataclass(frozen=True)
class Sample:
    """One value of a metric, with its labels."""

    value: float
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Metric:
    """A metric family: name, type (`gauge` or `counter`), help text and its samples."""

    name: str
    type: str
    help: str
    samples: tuple[Sample, ...] = field(default_factory=tuple)


# -- handler counts -------------------------------------------------------------------------------

_counts: Counter[tuple[str, str]] = Counter()
_counts_lock = threading.Lock()


def count(kind: str, outcome: str) -> None:
    """Count one handler invocation of a resource `kind` (`Run`, `Schedule`, …) with its
    `outcome` (`success`, `failure`, `retry`, …). Thread-safe; handlers run in threads."""
    with _counts_lock:
        _counts[(kind, outcome)] += 1


def counted(kind: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Count each call of a reconcile function under `kind`: outcome `success`, or `failure`
    when it raises (the exception goes on)."""

    def wrap(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                result = function(*args, **kwargs)
            except BaseException:
                count(kind, "failure")
                raise
            count(kind, "success")
            return result

        return call

    return wrap


def handler_counts() -> dict[tuple[str, str], int]:
    """A copy of the counts so far, by (kind, outcome)."""
    with _counts_lock:
        return dict(_counts)


# -- process --------------------------------------------------------------------------------------


def resident_memory_bytes(status_path: str = "/proc/self/status") -> int | None:
    """The process's resident memory (Linux `VmRSS`); None where /proc is not available."""
    try:
        with open(status_path) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# -- rendering (pure) -----------------------------------------------------------------------------

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(metrics: Iterable[Metric]) -> str:
    """Prometheus' text exposition of `metrics`."""
    lines: list[str] = []
    for metric in metrics:
        if not _NAME.match(metric.name):
            raise ValueError(f"invalid metric name {metric.name!r}")
        help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {metric.name} {help_text}")
        lines.append(f"# TYPE {metric.name} {metric.type}")
        for sample in metric.samples:
            labels = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sample.labels)
            selector = f"{{{labels}}}" if labels else ""
            lines.append(f"{metric.name}{selector} {format_value(sample.value)}")
    return "\n".join(lines) + "\n"


def operator_metrics(
    *,
    active: bool,
    identity: str,
    peering: str,
    priority: int,
    counts: dict[tuple[str, str], int],
    memory: int | None,
) -> list[Metric]:
    """The operator's metric families from what it observed (pure)."""
    found = [
        Metric("kubedag_operator_up", "gauge", "1 while the operator runs.", (Sample(1),)),
        Metric(
            "kubedag_operator_active",
            "gauge",
            "1 when this replica acts, 0 while it waits for a replica with a higher peering "
            "priority.",
            (Sample(1 if active else 0),),
        ),
        Metric(
            "kubedag_operator_info",
            "gauge",
            "This replica's peering identity, peering object (empty when standalone) and priority.",
            (
                Sample(
                    1,
                    (("identity", identity), ("peering", peering), ("priority", str(priority))),
                ),
            ),
        ),
        Metric(
            "kubedag_operator_handler_invocations_total",
            "counter",
            "Handler invocations by resource kind and outcome.",
            tuple(
                Sample(n, (("kind", kind), ("outcome", outcome)))
                for (kind, outcome), n in sorted(counts.items())
            ),
        ),
        Metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch, in seconds.",
            (Sample(round(_PROCESS_START, 3)),),
        ),
    ]
    if memory is not None:
        found.append(
            Metric(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                (Sample(memory),),
            )
        )
    return found


# -- serving --------------------------------------------------------------------------------------

Collect = Callable[[], Awaitable[list[Metric]]]


@asynccontextmanager
async def serving_metrics(port: int, collect: Collect, host: str = "0.0.0.0") -> AsyncIterator[int]:
    """Serve `GET /metrics` on `host:port` while the block runs; yields the bound port (useful
    with port 0). A scrape whose collection fails answers 500 with the error's type only."""
    from aiohttp import web

    async def metrics_page(request: web.Request) -> web.Response:
        try:
            text = render(await collect())
        except Exception as exc:  # a scrape must not take the operator down
            logger.warning(f"Collecting metrics failed: {exc!r}")
            return web.Response(status=500, text=f"collecting metrics failed: {type(exc).__name__}")
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.add_routes([web.get(METRICS_PATH, metrics_page)])
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        # our own socket, so that port 0 works and the bound port is known
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise KubedagError(
                f"Cannot serve metrics on {host}:{port} ({exc.strerror}): choose another "
                "--metrics-port."
            ) from exc
        bound = int(sock.getsockname()[1])
        await web.SockSite(runner, sock).start()
        logger.info(f"Serving metrics at http://{host}:{bound}{METRICS_PATH}")
        yield bound
    finally:
        await runner.cleanup()
