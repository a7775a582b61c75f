"""The operator benchmark: how long a `Run` waits for its pod, and the operator's memory.

Why these two: a `Run` object is the cluster's way to start a job, so the time from its creation
to its pod's creation is what a user (or a schedule) waits before anything runs; and the
operator follows every `Run` in memory, so its footprint with many Runs decides how it must be
sized.

There is no real API server here, so the workload starts the repository's Kubernetes API
emulator (`tests/fixtures/kubernetes.py`, with `crds/` preloaded) in this process, and the
operator as a separate process (`python -m kubedag_operator -n NS --standalone`, the same as
`kubedag operator`), with `KUBECONFIG` pointing at the emulator. One namespace gets what the
operator tests set up: a Secret with the storage URL, an `Instance` (PostgreSQL storage, the
Kubernetes run launcher, the default run coordinator), a `CodeLocation` with `replicas: 0` and
a `Job`. No kubelet runs: pods are created and stay Pending, which is all that is measured; the
Instance's `pending_timeout_seconds` and `start_timeout_seconds` are an hour so nothing fails
them meanwhile.

Timestamps are this process's own (`time.perf_counter`), not the objects' second-resolution
`creationTimestamp`: a Run's clock starts when its create call returns, and a thread watching
the emulator's store in this process notes when each pod appears (the store wakes watchers at
once), mapping it to its Run through the pod's owner reference.

- `operator_launch`: 200 Runs one at a time, each waiting for its pod (latency without
  queueing; median and p99 in ms), then a burst of 200 more created at once (per-Run latency
  under load, and Runs launched per second).
- `operator_memory`: the operator's RSS (VmRSS, and VmHWM its peak) idle with no Run, then
  with 1,000 Runs created, launched, their pods present and every Run's status written; also
  the operator's CPU while it only follows those Runs.

PostgreSQL comes from `bench/postgres_server.py` (a throw-away server, or
`KUBEDAG_BENCH_PG_URL`), a new database per process; without PostgreSQL the Instance uses
SQLite in the operator's home, and the JSON says which (`backend`).

    python bench/operator_launch.py --workload operator_launch|operator_memory

prints one JSON line on stdout; progress and the operator's log tail (on failure) go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # the emulator lives in tests/fixtures

from tests.fixtures.kubernetes import (  # noqa: E402
    KubernetesApiServer,
    ObjectStore,
    WatchEvent,
    write_kubeconfig,
)

from postgres_server import BenchPostgres, PostgresUnavailable  # noqa: E402

WORKLOAD_NAMES = ("operator_launch", "operator_memory")
NAMESPACE = "bench"
GROUP = "kubedag.io"
API_VERSION = f"{GROUP}/v1alpha1"
SECRET = "bench-storage"
JOB = "bench"
SPACED_RUNS = 200  # operator_launch: one at a time
SPACED_CHUNK = 50  # their median per 50 consecutive Runs is reported too
BURST_RUNS = 200  # operator_launch: then all at once
MEMORY_RUNS = 1_000  # operator_memory
RESYNC_SECONDS = 5.0  # the operator's default (`--resync-seconds`)
NEVER_SECONDS = 3600  # pending and start timeouts: longer than the workload
READY_TIMEOUT_S = 60.0
POD_TIMEOUT_S = 60.0  # one Run's pod, one at a time
BURST_TIMEOUT_S = 600.0  # every pod of a burst
SETTLE_WINDOW_S = 10.0  # RSS and CPU sampled over this window once things settled
SAMPLE_INTERVAL_S = 0.5
PROGRESS_EVERY_S = 5.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40

Figures = dict[str, Any]


# -- pure pieces -------------------------------------------------------------------------------
def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in (0, 1]) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_figures(prefix: str, seconds: list[float]) -> Figures:
    """Median, p99 and max of latencies in ms, under `prefix` (`ms_median`, `burst_ms_p99`)."""
    ms = [s * 1000 for s in seconds]
    return {
        f"{prefix}ms_median": statistics.median(ms),
        f"{prefix}ms_p99": percentile(ms, 0.99),
        f"{prefix}ms_max": max(ms),
    }


def proc_status_kib(text: str, field_name: str) -> int:
    """A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`), in KiB."""
    for line in text.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise ValueError(f"/proc status has no {field_name} line")


def proc_cpu_seconds(stat_text: str, ticks_per_second: int) -> float:
    """User plus system CPU of a process from its /proc/PID/stat line."""
    fields = stat_text[stat_text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second  # utime, stime


def owner_run(pod: dict[str, Any]) -> str | None:
    """The name of the Run that owns a pod (its owner reference), if any."""
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == "Run":
            return str(owner.get("name"))
    return None


def run_body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Run",
        "metadata": {"name": name},
        "spec": {"jobRef": {"name": JOB}},
    }


def instance_spec(postgres: bool, pod_home: str) -> dict[str, Any]:
    """The benchmark's Instance: storage from the Secret (or SQLite), pods that may stay
    Pending for an hour, the default run coordinator (submitting a run launches it)."""
    spec: dict[str, Any] = {
        "run_monitoring": {"start_timeout_seconds": NEVER_SECONDS},
        "run_launcher": {
            "kubernetes": {"home": pod_home, "pending_timeout_seconds": NEVER_SECONDS}
        },
    }
    if postgres:
        url = {"secretKeyRef": {"name": SECRET, "key": "url"}}
        spec["storage"] = {"postgres": {"postgres_url": url}}
    return spec


# -- the emulated cluster ----------------------------------------------------------------------
class PodClock:
    """When each Run's pod appeared, by Run name (this process's `perf_counter`): a thread
    follows the emulator's store, which wakes it as soon as a pod is created."""

    def __init__(self, store: ObjectStore, namespace: str) -> None:
        self.store, self.namespace = store, namespace
        self.seen: dict[str, float] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="pod-clock", daemon=True)

    def __enter__(self) -> PodClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _follow(self) -> None:
        pods = self.store.resource("", "pods")
        events: Iterator[WatchEvent] = self.store.watch(
            pods, self.namespace, None, timeout=1e9, stop=self._stop
        )
        for event in events:
            if event.type != "ADDED":
                continue
            at = time.perf_counter()
            run = owner_run(event.obj)
            if run is not None:
                with self._changed:
                    self.seen.setdefault(run, at)
                    self._changed.notify_all()

    def wait(
        self,
        runs: list[str],
        timeout: float,
        check: Callable[[], None],
        progress: str = "",
    ) -> dict[str, float]:
        """The pod times of `runs`, once all appeared; raises TimeoutError naming the missing.
        `check` runs at least every second (it raises when the operator died)."""
        deadline = time.monotonic() + timeout
        next_note = time.monotonic() + PROGRESS_EVERY_S
        with self._changed:
            while True:
                missing = [r for r in runs if r not in self.seen]
                if not missing:
                    return {r: self.seen[r] for r in runs}
                now = time.monotonic()
                if now >= deadline:
                    raise TimeoutError(
                        f"{len(missing)} of {len(runs)} Runs got no pod within {timeout:.0f} s "
                        f"(first: {missing[0]})"
                    )
                check()
                if progress and now >= next_note:
                    note(f"{progress}: {len(runs) - len(missing)} of {len(runs)} pods")
                    next_note = now + PROGRESS_EVERY_S
                self._changed.wait(min(deadline, next_note, now + 1.0) - now)


class RequestCounter:
    """Counts the emulator's HTTP requests (by method): how often the operator asks the API."""

    def __init__(self, server: KubernetesApiServer) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        handle = server.handle

        def counted(request: Any, method: str) -> None:
            with self._lock:
                self.counts[method] = self.counts.get(method, 0) + 1
            handle(request, method)

        server.handle = counted  # type: ignore[method-assign]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def per_second(before: dict[str, int], after: dict[str, int], seconds: float) -> dict[str, float]:
    """Requests per second by method between two counts."""
    return {
        method: round((count - before.get(method, 0)) / seconds, 1)
        for method, count in sorted(after.items())
        if count > before.get(method, 0)
    }


@dataclass
class Cluster:
    """The emulator, its kubeconfig, a count of its requests, and the benchmark namespace's
    objects."""

    server: KubernetesApiServer
    kubeconfig: Path
    requests: RequestCounter
    namespace: str = NAMESPACE

    def create(self, group: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self.server.store
        return store.create(store.resource(group, plural), self.namespace, body)

    def get(self, group: str, plural: str, name: str) -> dict[str, Any]:
        store = self.server.store
        return store.get(store.resource(group, plural), self.namespace, name)

    def list(self, group: str, plural: str) -> list[dict[str, Any]]:
        store = self.server.store
        return store.list(store.resource(group, plural), self.namespace)[0]


def tune_emulator(server: KubernetesApiServer) -> None:
    """No traceback for each connection a stopping operator drops (it holds hundreds), so that
    a failure's own message stays at the end of stderr. (The emulator sets TCP_NODELAY itself:
    without it, Nagle's algorithm cost ~44 ms a request on kept-alive connections.)"""
    http = server._http
    report = http.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, client_address)

    http.handle_error = handle_error  # type: ignore[method-assign]


@contextlib.contextmanager
def emulated_cluster(scratch: Path) -> Iterator[Cluster]:
    server = KubernetesApiServer()
    tune_emulator(server)
    requests = RequestCounter(server)
    server.start()
    try:
        server.preload_crds(REPO_ROOT / "crds")
        kubeconfig = write_kubeconfig(scratch / "kubeconfig", server.url, NAMESPACE)
        cluster = Cluster(server, kubeconfig, requests)
        cluster.server.store.create(
            server.store.resource("", "namespaces"), "", {"metadata": {"name": NAMESPACE}}
        )
        yield cluster
    finally:
        server.stop()


def set_up_namespace(cluster: Cluster, postgres_url: str | None, scratch: Path) -> None:
    """What the operator tests' cluster has: Secret, Instance, CodeLocation, Job."""
    if postgres_url is not None:
        secret = {"metadata": {"name": SECRET}, "stringData": {"url": postgres_url}}
        cluster.create("", "secrets", secret)
    code = scratch / "code" / "jobs.py"
    code.parent.mkdir()
    code.write_text(
        "import kubedag as dg\n\n\n@dg.asset\ndef one() -> int:\n    return 1\n\n\n"
        f'defs = dg.Definitions(assets=[one], jobs=[dg.define_asset_job("{JOB}")])\n'
    )
    cluster.create(
        GROUP,
        "instances",
        {
            "apiVersion": API_VERSION,
            "kind": "Instance",
            "metadata": {"name": "kubedag"},
            "spec": instance_spec(postgres_url is not None, str(scratch / "pod-home")),
        },
    )
    cluster.create(
        GROUP,
        "codelocations",
        {
            "apiVersion": API_VERSION,
            "kind": "CodeLocation",
            "metadata": {"name": "jobs"},
            "spec": {"image": "registry.example/jobs:1.0", "pythonFile": str(code), "replicas": 0},
        },
    )
    cluster.create(
        GROUP,
        "jobs",
        {
            "apiVersion": API_VERSION,
            "kind": "Job",
            "metadata": {"name": JOB},
            "spec": {
                "codeLocationRef": {"name": "jobs"},
                "jobName": JOB,
                "runConfig": {"execution": {"config": {"in_process": {}}}},
            },
        },
    )


# -- the operator process ----------------------------------------------------------------------
@dataclass
class OperatorProcess:
    """`python -m kubedag_operator` against the emulator, its output in a log file."""

    cluster: Cluster
    scratch: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.scratch / "operator.log"

    def start(self) -> None:
        tmp = self.scratch / "operator-tmp"  # its home (a mkdtemp) lands here, and goes with it
        tmp.mkdir()
        env = {
            **os.environ,
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "TMPDIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            "kubedag_operator",
            "-n",
            self.cluster.namespace,
            "--standalone",
            "--resync-seconds",
            str(RESYNC_SECONDS),
            "--kubeconfig",
            str(self.cluster.kubeconfig),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.scratch
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the operator was not started")
        return self.process.pid

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the operator exited with code {self.process.returncode}")

    def wait_ready(self) -> None:
        """Until the Instance is Ready: the operator runs, reached storage and migrated it."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            self.check_alive()
            status = self.cluster.get(GROUP, "instances", "kubedag").get("status") or {}
            ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
            if ready is not None and ready["status"] == "True":
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the Instance was not Ready within {READY_TIMEOUT_S:.0f} s: {ready}"
                )
            time.sleep(0.05)  # polling with a deadline

    def memory_kib(self) -> tuple[int, int]:
        """VmRSS and VmHWM of the operator process."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        return proc_status_kib(text, "VmRSS"), proc_status_kib(text, "VmHWM")

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        return proc_cpu_seconds(stat, os.sysconf("SC_CLK_TCK"))

    def stop(self) -> None:
        """SIGTERM (kopf stops its daemons and closes the instances), SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])


# -- measuring ---------------------------------------------------------------------------------
def note(message: str) -> None:
    print(f"[operator bench] {message}", file=sys.stderr, flush=True)


def spaced_latencies(
    cluster: Cluster, clock: PodClock, operator: OperatorProcess, count: int
) -> list[float]:
    """One Run at a time, each waiting for its pod before the next is created."""
    latencies: list[float] = []
    for index in range(count):
        name = f"spaced-{index:04d}"
        cluster.create(GROUP, "runs", run_body(name))
        created = time.perf_counter()
        pod = clock.wait([name], POD_TIMEOUT_S, operator.check_alive)[name]
        latencies.append(pod - created)
        if (index + 1) % SPACED_CHUNK == 0:
            chunk = statistics.median(latencies[-SPACED_CHUNK:]) * 1000
            note(
                f"one at a time: {index + 1} of {count} Runs have their pod (median {chunk:.0f} ms)"
            )
    return latencies


def chunk_medians_ms(seconds: list[float], size: int) -> list[float]:
    """The median of each run of `size` consecutive latencies, in ms: how latency grows with
    the Runs the operator already follows."""
    return [
        round(statistics.median(seconds[i : i + size]) * 1000, 1)
        for i in range(0, len(seconds), size)
    ]


def burst(
    cluster: Cluster, clock: PodClock, operator: OperatorProcess, prefix: str, count: int
) -> tuple[list[float], float, float]:
    """`count` Runs created as fast as possible: per-Run latencies, seconds to create them all,
    seconds from the first create to the last pod."""
    names = [f"{prefix}-{index:04d}" for index in range(count)]
    created: dict[str, float] = {}
    start = time.perf_counter()
    for name in names:
        cluster.create(GROUP, "runs", run_body(name))
        created[name] = time.perf_counter()
    create_s = time.perf_counter() - start
    pods = clock.wait(names, BURST_TIMEOUT_S, operator.check_alive, f"burst of {count}")
    latencies = [pods[name] - created[name] for name in names]
    return latencies, create_s, max(pods.values()) - start


def wait_statuses(cluster: Cluster, operator: OperatorProcess, count: int) -> float:
    """Until `count` Runs have a status phase (the operator followed each once after its
    launch); returns the seconds waited."""
    start = time.monotonic()
    deadline = start + BURST_TIMEOUT_S
    next_note = start + PROGRESS_EVERY_S
    while True:
        operator.check_alive()
        done = sum(
            1 for run in cluster.list(GROUP, "runs") if (run.get("status") or {}).get("phase")
        )
        now = time.monotonic()
        if done >= count:
            return now - start
        if now > deadline:
            raise TimeoutError(f"only {done} of {count} Runs got a status phase")
        if now >= next_note:
            note(f"statuses: {done} of {count} Runs have a phase")
            next_note = now + PROGRESS_EVERY_S
        time.sleep(0.5)  # polling with a deadline


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def settled_sample(cluster: Cluster, operator: OperatorProcess, window: float) -> Figures:
    """Over `window` seconds: the operator's RSS (last and highest sample, and VmHWM) and CPU
    share, this process's CPU share (the emulated API, which serves the operator's requests)
    and the API requests per second."""
    rss_samples = []
    requests_before = cluster.requests.snapshot()
    cpu_before, own_before = operator.cpu_seconds(), own_cpu_seconds()
    start = time.monotonic()
    while time.monotonic() - start < window:
        operator.check_alive()
        rss_samples.append(operator.memory_kib()[0])
        time.sleep(SAMPLE_INTERVAL_S)  # sampling, not synchronisation
    elapsed = time.monotonic() - start
    cpu, own = operator.cpu_seconds() - cpu_before, own_cpu_seconds() - own_before
    requests = per_second(requests_before, cluster.requests.snapshot(), elapsed)
    rss, hwm = operator.memory_kib()
    return {
        "rss_mib": rss / 1024,
        "rss_max_mib": max([*rss_samples, rss]) / 1024,
        "hwm_mib": hwm / 1024,
        "cpu_percent": 100 * cpu / elapsed,
        "api_cpu_percent": 100 * own / elapsed,
        "api_requests_per_s": requests,
    }


def workload_launch(cluster: Cluster, operator: OperatorProcess) -> Figures:
    with PodClock(cluster.server.store, cluster.namespace) as clock:
        note(f"{SPACED_RUNS} Runs one at a time")
        spaced = spaced_latencies(cluster, clock, operator, SPACED_RUNS)
        note(f"a burst of {BURST_RUNS} Runs")
        burst_latencies, create_s, total_s = burst(cluster, clock, operator, "burst", BURST_RUNS)
    return {
        **latency_figures("", spaced),
        "runs": SPACED_RUNS,
        f"ms_median_per_{SPACED_CHUNK}": chunk_medians_ms(spaced, SPACED_CHUNK),
        **latency_figures("burst_", burst_latencies),
        "burst_runs": BURST_RUNS,
        "burst_runs_per_s": BURST_RUNS / total_s,
        "burst_create_s": create_s,
        "burst_existing_runs": SPACED_RUNS,
    }


def workload_memory(cluster: Cluster, operator: OperatorProcess) -> Figures:
    note(f"idle operator: sampling for {SETTLE_WINDOW_S:.0f} s")
    idle = settled_sample(cluster, operator, SETTLE_WINDOW_S)
    with PodClock(cluster.server.store, cluster.namespace) as clock:
        note(f"creating {MEMORY_RUNS} Runs")
        latencies, create_s, total_s = burst(cluster, clock, operator, "run", MEMORY_RUNS)
    status_s = wait_statuses(cluster, operator, MEMORY_RUNS)
    note(f"{MEMORY_RUNS} Runs launched: sampling for {SETTLE_WINDOW_S:.0f} s")
    busy = settled_sample(cluster, operator, SETTLE_WINDOW_S)
    pods = len(cluster.list("", "pods"))
    if pods < MEMORY_RUNS:
        raise RuntimeError(f"{pods} pods for {MEMORY_RUNS} Runs")
    return {
        **busy,
        "runs": MEMORY_RUNS,
        "pods": pods,
        "idle_rss_mib": idle["rss_mib"],
        "idle_hwm_mib": idle["hwm_mib"],
        "idle_cpu_percent": idle["cpu_percent"],
        "rss_per_run_kib": (busy["rss_mib"] - idle["rss_mib"]) * 1024 / MEMORY_RUNS,
        "launch_runs_per_s": MEMORY_RUNS / total_s,
        "launch_ms_median": statistics.median(latencies) * 1000,
        "launch_ms_p99": percentile(latencies, 0.99) * 1000,
        "create_s": create_s,
        "status_wait_s": status_s,
        "settle_window_s": SETTLE_WINDOW_S,
    }


WORKLOADS: dict[str, Callable[[Cluster, OperatorProcess], Figures]] = {
    "operator_launch": workload_launch,
    "operator_memory": workload_memory,
}


@contextlib.contextmanager
def storage_url(postgres_url: str | None) -> Iterator[str | None]:
    """The given database; else a new database of a throw-away server (or the server of
    KUBEDAG_BENCH_PG_URL); None (SQLite) when no PostgreSQL can be had here."""
    if postgres_url:
        yield postgres_url
        return
    with BenchPostgres() as postgres:
        try:
            postgres.start()
        except PostgresUnavailable as unavailable:
            if postgres.failure is not None:  # a server exists but does not work: an error
                raise RuntimeError(f"PostgreSQL {postgres.failure}") from None
            note(f"no PostgreSQL ({unavailable}): the Instance uses SQLite")
            yield None
            return
        with postgres.database("operator") as url:
            yield url


def run(workload: str, postgres_url: str | None) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="kubedag-bench-operator-") as scratch_dir,
        storage_url(postgres_url) as url,
        emulated_cluster(Path(scratch_dir)) as cluster,
    ):
        scratch = Path(scratch_dir)
        set_up_namespace(cluster, url, scratch)
        operator = OperatorProcess(cluster, scratch)
        try:
            operator.start()
            note(f"operator pid {operator.pid}, waiting for the Instance to be Ready")
            operator.wait_ready()
            figures = WORKLOADS[workload](cluster, operator)
        except BaseException as failure:
            # shown with the traceback, after the cleanup's own noise
            failure.add_note(f"--- operator log (last lines) ---\n{operator.log_tail()}\n---")
            raise
        finally:
            operator.stop()
    return {
        "backend": "postgres" if url else "sqlite",
        "resync_seconds": RESYNC_SECONDS,
        "api": "emulated (tests/fixtures/kubernetes.py), in the benchmark's process",
        **figures,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOAD_NAMES, required=True)
    parser.add_argument(
        "--system",
        choices=["kubedag"],
        default="kubedag",
        help="kubedag only (bench/run.py passes it to every workload script)",
    )
    parser.add_argument(
        "--postgres-url",
        metavar="URL",
        help="an empty PostgreSQL database (default: a throw-away server's, or SQLite)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args.workload, args.postgres_url)
    record = {
        "system": args.system,
        "workload": args.workload,
        "python": platform.python_version(),
        **figures,
    }
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
