"""One benchmark workload, run in a fresh process, for kubedag or for the reference (Dagster).

Why a separate script: import time and peak memory only mean something in a process that has
loaded nothing else, and the same file must run unchanged under two interpreters (the project's
venv for kubedag, a second venv for Dagster). The system is chosen by name and loaded with
importlib, so every workload uses only the public API the two share (`dg.asset`, `dg.AssetIn`,
`dg.materialize`, `dg.op`, `dg.job`, `context.log.info`, and on an instance
`get_latest_materialization_event`, `all_logs`); the one difference is how an instance is made.

Storage workloads are named `<what>_sqlite` or `<what>_postgres`. They run on a persistent
instance in a temporary directory of their own: kubedag's `Instance.from_config(document,
home=DIR)`, Dagster's `DagsterInstance.from_config(DIR)` (no dagster.yaml: SQLite; PostgreSQL
through a dagster.yaml and the dagster-postgres package). PostgreSQL workloads need an empty
database, `--postgres-url postgresql://...` (bench/run.py starts a server and creates one).

    python bench/workloads.py --system kubedag|dagster --workload NAME [--postgres-url URL]

prints exactly one JSON line on stdout, `{"skipped": "why"}` when this system cannot run the
workload here (e.g. dagster-postgres is not installed). Anything the system itself writes to
stdout is sent to stderr, so the caller can parse the last line of stdout that starts with '{'.
"""

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

SYSTEMS = ("kubedag", "dagster")
INSTANCE_CLASS = {"kubedag": "Instance", "dagster": "DagsterInstance"}
CHAIN_LENGTH = 100
FANOUT_WIDTH = 200
REPETITIONS = 3
ONE_OP_WARMUP = 3
ONE_OP_RUNS = 50
BACKENDS = ("sqlite", "postgres")
# 10,000 lines take the reference about 30 s per run; 1,000 show the same per-line cost.
LOG_LINES = {"kubedag": 10_000, "dagster": 1_000}
BATCH_ASSETS = 10_000
STORE_BATCH = 1_000
EVENTLOG_READS = 5
# fanout_multiprocess: steps at once, and runs measured per system (the reference takes minutes
# a run: a fresh interpreter per step).
MULTIPROCESS_CONCURRENCY = 2
SCHEDULE_COUNT = 1_000  # schedule_ticks: schedules ticked over one simulated day
AUTOMATED_ASSETS = 1_000  # automation_conditions: assets in the graph,
AUTOMATED_ROOTS = 50  # of which roots without a condition
QUEUE_RUNS = 500  # runs submitted to the queued coordinator, then dequeued
QUEUE_MAX_CONCURRENT = 10
QUEUE_TAGGED_EVERY = 5  # every 5th run carries db=warehouse, limited to 2 at a time
QUEUE_TAG_LIMIT = 2
MULTIPROCESS_RUNS = {"kubedag": REPETITIONS, "dagster": 1}
# The reference rebuilds the job in each step's process by importing this file, so the system
# to build it with travels in the environment.
SYSTEM_ENV = "KUBEDAG_BENCH_SYSTEM"

Figures = dict[str, Any]


class Skipped(Exception):
    """This system cannot run the workload here; the message says why."""


@dataclass(frozen=True)
class Storage:
    """Where a storage workload keeps its instance: `backend` is "sqlite" or "postgres"."""

    backend: str
    postgres_url: str | None = None


def claim_stdout() -> TextIO:
    """Keep the real stdout for the JSON line and point fd 1 at stderr for everything else."""
    sys.stdout.flush()
    result = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return result


def ephemeral_instance(dg: ModuleType, system: str) -> Any:
    """A fresh in-memory instance: `Instance` in kubedag, `DagsterInstance` in Dagster."""
    return getattr(dg, INSTANCE_CLASS[system]).ephemeral()


def dispose(instance: Any) -> None:
    """Release an instance's temporary storage between runs (outside any timed region)."""
    close = getattr(instance, "dispose", None)
    if callable(close):
        close()


def make_asset(dg: ModuleType, name: str, deps: list[Any]) -> Any:
    """An asset named `name` that returns None and depends on `deps` without loading them."""

    def compute() -> None:
        return None

    return dg.asset(name=name, deps=deps)(compute)


def build_chain(dg: ModuleType, length: int, prefix: str) -> list[Any]:
    """`length` assets where asset i depends on asset i-1."""
    assets: list[Any] = []
    for i in range(length):
        assets.append(make_asset(dg, f"{prefix}{i}", assets[-1:]))
    return assets


def build_fanout(dg: ModuleType, width: int) -> list[Any]:
    """A root, `width` assets that each depend on the root, and a sink that depends on all."""
    root = make_asset(dg, "root", [])
    middle = [make_asset(dg, f"f{i}", [root]) for i in range(width)]
    return [root, *middle, make_asset(dg, "sink", middle)]


def build_fanout_with_inputs(dg: ModuleType, width: int) -> list[Any]:
    """A root, `width` leaves that each take the root as an input, and a sink that declares an
    input for every leaf and takes them all through `**leaves`: every edge is a value stored and
    loaded by the I/O manager, not a `deps` ordering."""

    def root() -> int:
        return 1

    def make_leaf(offset: int) -> Any:
        def leaf(root: int) -> int:
            return root + offset

        return dg.asset(name=f"leaf_{offset:03d}")(leaf)

    def sink(**leaves: int) -> int:
        return sum(leaves.values())

    leaves = [make_leaf(i) for i in range(width)]
    ins = {f"l{i:03d}": dg.AssetIn(f"leaf_{i:03d}") for i in range(width)}
    return [dg.asset(name="root")(root), *leaves, dg.asset(name="sink", ins=ins)(sink)]


def fanout_sink_value(width: int) -> int:
    """What the fan-out's sink computes: the sum of 1 + i over the leaves."""
    return width + width * (width - 1) // 2


def timed_materialize(dg: ModuleType, assets: list[Any], instance: Any) -> tuple[float, Any]:
    """(wall seconds, result) of one in-process materialization on `instance`."""
    start = time.perf_counter()
    result = dg.materialize(assets, instance=instance)
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError("materialize reported failure")
    return elapsed, result


def time_materialize(dg: ModuleType, system: str, assets: list[Any]) -> float:
    """Wall time in seconds of one in-process materialization on a fresh ephemeral instance."""
    instance = ephemeral_instance(dg, system)
    elapsed, _ = timed_materialize(dg, assets, instance)
    dispose(instance)
    return elapsed


def step_figures(samples: list[float], steps: int) -> Figures:
    per_step_ms = [s * 1000 / steps for s in samples]
    return {
        "ms_per_step": statistics.median(per_step_ms),
        "samples_ms_per_step": per_step_ms,
        "steps": steps,
    }


def per_step(dg: ModuleType, system: str, assets: list[Any]) -> Figures:
    """Median ms per step over REPETITIONS materializations, after a 2-asset warm-up."""
    time_materialize(dg, system, build_chain(dg, 2, "warm"))
    samples = [time_materialize(dg, system, assets) for _ in range(REPETITIONS)]
    return step_figures(samples, len(assets))


def workload_chain(dg: ModuleType, system: str) -> Figures:
    return per_step(dg, system, build_chain(dg, CHAIN_LENGTH, "a"))


def workload_fanout(dg: ModuleType, system: str) -> Figures:
    return per_step(dg, system, build_fanout(dg, FANOUT_WIDTH))


def workload_fanout200(dg: ModuleType, system: str) -> Figures:
    """`fanout`'s shape with data passing, measured as `per_step` does; each run's sink value
    is checked (outside the timed region), so a system that drops an input cannot look fast."""
    assets = build_fanout_with_inputs(dg, FANOUT_WIDTH)
    time_materialize(dg, system, build_chain(dg, 2, "warm"))
    samples = []
    for _ in range(REPETITIONS):
        instance = ephemeral_instance(dg, system)
        elapsed, result = timed_materialize(dg, assets, instance)
        sink_value = result.asset_value("sink")
        dispose(instance)
        if sink_value != fanout_sink_value(FANOUT_WIDTH):
            raise RuntimeError(f"fanout200: the sink computed {sink_value!r}")
        samples.append(elapsed)
    return step_figures(samples, len(assets))


def build_one_op_job(dg: ModuleType) -> Any:
    """A job with a single op that returns 1."""

    @dg.op
    def hello() -> int:
        return 1

    @dg.job
    def one() -> None:
        hello()

    return one


def time_one_run(dg: ModuleType, system: str, job: Any) -> tuple[float, float]:
    """(instance + run, run only) seconds for one run on a fresh ephemeral instance."""
    start = time.perf_counter()
    instance = ephemeral_instance(dg, system)
    ready = time.perf_counter()
    result = job.execute_in_process(instance=instance)
    end = time.perf_counter()
    if not result.success:
        raise RuntimeError("execute_in_process reported failure")
    dispose(instance)
    return end - start, end - ready


def workload_one_op(dg: ModuleType, system: str) -> Figures:
    """Median per-run time; the headline includes building the fresh instance, as the reference."""
    job = build_one_op_job(dg)
    for _ in range(ONE_OP_WARMUP):
        time_one_run(dg, system, job)
    samples = [time_one_run(dg, system, job) for _ in range(ONE_OP_RUNS)]
    return {
        "ms_per_run": statistics.median(total for total, _ in samples) * 1000,
        "ms_execute_only": statistics.median(run for _, run in samples) * 1000,
        "runs": ONE_OP_RUNS,
    }


def workload_memory(dg: ModuleType, system: str) -> Figures:
    """Peak RSS of this process after importing the system and materializing the chain."""
    time_materialize(dg, system, build_chain(dg, CHAIN_LENGTH, "a"))
    return {"peak_mib": peak_rss_mib()}


def workload_partition_keys(dg: ModuleType, system: str) -> Figures:
    """`get_partition_keys()` of an hourly definition with exactly 100,000 complete windows: the
    first call (nothing computed yet) and the median of 5 later calls at the same time."""
    from datetime import UTC, datetime, timedelta

    count = 100_000
    partitions_def = dg.HourlyPartitionsDefinition(start_date="2010-01-01-00:00")
    now = datetime(2010, 1, 1, tzinfo=UTC) + timedelta(hours=count)
    started = time.perf_counter()
    keys = partitions_def.get_partition_keys(current_time=now)
    first = time.perf_counter() - started
    assert len(keys) == count, len(keys)
    later = []
    for _ in range(5):
        started = time.perf_counter()
        partitions_def.get_partition_keys(current_time=now)
        later.append(time.perf_counter() - started)
    return {
        "ms_per_call": first * 1000,
        "ms_repeated_call": statistics.median(later) * 1000,
        "keys": count,
    }


def build_schedules(dg: ModuleType, count: int) -> tuple[Any, list[Any]]:
    """An asset, and `count` schedules of a job of it: hourly, every 15 minutes, daily and
    every 6 hours on weekdays, in four time zones; every other one has a function that returns
    a keyed request."""
    asset = make_asset(dg, "scheduled", [])
    job = dg.define_asset_job("scheduled_job", selection=[asset])
    crons = ("{m} * * * *", "*/15 * * * *", "{m} {h} * * *", "{m} */6 * * 1-5")
    zones = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata")
    schedules = []
    for i in range(count):
        cron = crons[i % len(crons)].format(m=i % 60, h=i % 24)
        zone = zones[(i // len(crons)) % len(zones)]
        if i % 2:

            def requests(context: Any, i: int = i) -> Any:
                moment = context.scheduled_execution_time
                return dg.RunRequest(run_key=f"{i}-{moment:%Y%m%d%H%M}", tags={"n": str(i)})

            decorate = dg.schedule(
                name=f"s{i}", job=job, cron_schedule=cron, execution_timezone=zone
            )
            schedules.append(decorate(requests))
        else:
            schedules.append(
                dg.ScheduleDefinition(
                    name=f"s{i}",
                    job=job,
                    cron_schedule=cron,
                    execution_timezone=zone,
                    run_config={"ops": {}},
                )
            )
    return asset, schedules


def workload_schedule_ticks(dg: ModuleType, system: str) -> Figures:
    """Every tick of SCHEDULE_COUNT schedules over one simulated day (10 March 2024, when New
    York's clocks spring forward): the tick times (DST-aware cron arithmetic) and each tick's
    evaluation into run requests, as the scheduler does them, without storage. Median of
    REPETITIONS passes."""
    if system != "kubedag":
        raise Skipped(
            "kubedag only: the reference iterates tick times with an internal function, not a "
            "public API"
        )
    from datetime import UTC, datetime, timedelta

    from kubedag.automation.schedules import (
        ScheduleEvaluationContext,
        evaluate_schedule,
        schedule_ticks,
    )

    asset, schedules = build_schedules(dg, SCHEDULE_COUNT)
    dg.Definitions(assets=[asset], schedules=schedules)
    begin = datetime(2024, 3, 10, tzinfo=UTC) - timedelta(seconds=1)
    end = begin + timedelta(days=1)
    samples, ticks, requests = [], 0, 0
    for _ in range(REPETITIONS):
        ticks = requests = 0
        start = time.perf_counter()
        for schedule in schedules:
            for tick in schedule_ticks(schedule, begin, end):
                context = ScheduleEvaluationContext(tick, None, schedule.name)
                requests += len(evaluate_schedule(schedule, context).run_requests)
                ticks += 1
        samples.append(time.perf_counter() - start)
    total = statistics.median(samples)
    return {
        "total_ms": total * 1000,
        "us_per_tick": total * 1e6 / ticks,
        "samples_ms": [s * 1000 for s in samples],
        "schedules": SCHEDULE_COUNT,
        "ticks": ticks,
        "run_requests": requests,
    }


def build_automated_graph(dg: ModuleType, count: int, roots: int) -> tuple[list[Any], list[Any]]:
    """`count` assets: `roots` plain roots, then eager assets that each depend on one or two
    earlier assets (a deterministic spread, so chains are up to tens of assets deep)."""
    eager = dg.AutomationCondition.eager()
    assets: list[Any] = [make_asset(dg, f"root{i}", []) for i in range(roots)]
    for i in range(roots, count):
        deps = [assets[(i * 7) % i], assets[i - 1 - (i % 3)]]
        unique = list({id(d): d for d in deps}.values())
        decorate = dg.asset(name=f"auto{i}", deps=unique, automation_condition=eager)
        assets.append(decorate(lambda: None))
    return assets, assets[:roots]


def workload_automation_conditions(dg: ModuleType, system: str) -> Figures:
    """One evaluation of AUTOMATED_ASSETS assets' automation conditions (`eager` on all but the
    roots) with `evaluate_automation_conditions(defs=…, instance=…)`, right after the roots were
    materialized on an ephemeral instance: reading the latest materializations and the runs in
    progress, deciding, and grouping the requests into runs. Median of REPETITIONS evaluations,
    each from no cursor; `ms_next` is a following evaluation from the first one's cursor."""
    assets, roots = build_automated_graph(dg, AUTOMATED_ASSETS, AUTOMATED_ROOTS)
    defs = dg.Definitions(assets=assets)
    instance = ephemeral_instance(dg, system)
    try:
        dg.materialize(roots, instance=instance)
        samples, requested, cursor = [], 0, None
        for _ in range(REPETITIONS):
            start = time.perf_counter()
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
            samples.append(time.perf_counter() - start)
            requested, cursor = result.total_requested, result.cursor
        start = time.perf_counter()
        dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        following = time.perf_counter() - start
    finally:
        dispose(instance)
    return {
        "ms": statistics.median(samples) * 1000,
        "samples_ms": [s * 1000 for s in samples],
        "ms_next": following * 1000,
        "assets": AUTOMATED_ASSETS,
        "requested": requested,
    }


# -- storage workloads: a persistent instance in SQLite or PostgreSQL ---------------------------


def open_instance(dg: ModuleType, system: str, storage: Storage, home: str) -> Any:
    """A persistent instance in `home` (and in the given PostgreSQL database, if that one)."""
    url = storage.postgres_url
    if storage.backend == "postgres" and not url:
        raise SystemExit("a PostgreSQL workload needs --postgres-url (bench/run.py passes one)")
    if system == "kubedag":
        document = {"storage": {"postgres": {"postgres_url": url}}} if url else {}
        return dg.Instance.from_config(document, home=home)
    # Dagster: a directory without dagster.yaml is SQLite; PostgreSQL is a separate package.
    if url:
        if importlib.util.find_spec("dagster_postgres") is None:
            raise Skipped("not installed: dagster-postgres")
        # dagster-postgres depends on psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare
        # postgresql:// URL, which that package does not install.
        driver_url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
        config = {"storage": {"postgres": {"postgres_url": driver_url}}}
        Path(home, "dagster.yaml").write_text(json.dumps(config))  # JSON is YAML
    return dg.DagsterInstance.from_config(home)


@contextlib.contextmanager
def persistent_instance(dg: ModuleType, system: str, storage: Storage) -> Iterator[Any]:
    """A fresh persistent instance in a temporary home, disposed and deleted afterwards."""
    home = tempfile.mkdtemp(prefix=f"bench-{system}-{storage.backend}-")
    instance = None
    try:
        instance = open_instance(dg, system, storage, home)
        yield instance
    finally:
        if instance is not None:
            dispose(instance)
        shutil.rmtree(home, ignore_errors=True)


def storage_chain(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """ms per step of the 100-asset chain, median of REPETITIONS runs on one instance, after a
    2-asset warm-up run on it."""
    assets = build_chain(dg, CHAIN_LENGTH, "a")
    with persistent_instance(dg, system, storage) as instance:
        timed_materialize(dg, build_chain(dg, 2, "warm"), instance)
        samples = [timed_materialize(dg, assets, instance)[0] for _ in range(REPETITIONS)]
    return step_figures(samples, len(assets))


def build_noisy_asset(dg: ModuleType, lines: int) -> Any:
    """One asset that writes `lines` lines through `context.log.info`."""

    def noisy(context: dg.AssetExecutionContext) -> None:
        for i in range(lines):
            context.log.info(f"line {i}")

    return dg.asset(name="noisy")(noisy)


def storage_logs(dg: ModuleType, system: str, storage: Storage, lines: int) -> Figures:
    """µs per log line: a whole materialization of the noisy asset divided by its lines, median
    of REPETITIONS runs after a 2-asset warm-up run."""
    noisy = build_noisy_asset(dg, lines)
    with persistent_instance(dg, system, storage) as instance:
        timed_materialize(dg, build_chain(dg, 2, "warm"), instance)
        samples = [timed_materialize(dg, [noisy], instance)[0] for _ in range(REPETITIONS)]
    per_line_us = [s * 1e6 / lines for s in samples]
    figures: Figures = {
        "us_per_line": statistics.median(per_line_us),
        "samples_us_per_line": per_line_us,
        "lines": lines,
    }
    if lines != LOG_LINES["kubedag"]:
        figures["note"] = f"{lines} lines per run, not {LOG_LINES['kubedag']}"
    return figures


def storage_latest(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """ms per `get_latest_materialization_event(key)`, over the 100 keys of one chain run;
    median of REPETITIONS passes."""
    assets = build_chain(dg, CHAIN_LENGTH, "a")
    keys = [dg.AssetKey(f"a{i}") for i in range(CHAIN_LENGTH)]
    passes = []
    with persistent_instance(dg, system, storage) as instance:
        timed_materialize(dg, assets, instance)
        for _ in range(REPETITIONS):
            start = time.perf_counter()
            events = [instance.get_latest_materialization_event(key) for key in keys]
            passes.append(time.perf_counter() - start)
            if any(event is None for event in events):
                raise RuntimeError("a materialized asset has no latest materialization")
    per_read_ms = [p * 1000 / len(keys) for p in passes]
    return {
        "ms_per_read": statistics.median(per_read_ms),
        "samples_ms_per_read": per_read_ms,
        "keys": len(keys),
    }


def store_materializations(dg: ModuleType, instance: Any, names: list[str]) -> None:
    """What one run materializing `names` leaves in the event log (STEP_START, the
    materialization, STEP_SUCCESS per asset), stored directly with `store_event_entries`:
    executing 10,000 steps would take longer than the read being measured."""
    job = "__ASSET_JOB"
    run_id = instance.create_run(job_name=job).run_id
    now = time.time()

    def entry(name: str, kind: Any, message: str, data: Any = None) -> Any:
        event = dg.Event(kind, job, message, step_key=name, event_specific_data=data)
        return dg.EventLogEntry(run_id, now, 10, message, job, name, event)

    for start in range(0, len(names), STORE_BATCH):
        entries = []
        for name in names[start : start + STORE_BATCH]:
            materialization = dg.AssetMaterialization(asset_key=dg.AssetKey(name))
            entries += [
                entry(name, dg.EventType.STEP_START, f'Started execution of step "{name}".'),
                entry(
                    name,
                    dg.EventType.ASSET_MATERIALIZATION,
                    f"Materialized value {name}.",
                    materialization,
                ),
                entry(name, dg.EventType.STEP_SUCCESS, f'Finished execution of step "{name}".'),
            ]
        instance.store_event_entries(entries)


def storage_latest_batch(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """ms for one `get_latest_materialization_events(keys)` over 10,000 materialized assets;
    median of REPETITIONS calls."""
    if system != "kubedag":
        raise Skipped("kubedag only: 10,000 steps would take the reference about 10 minutes")
    names = [f"b{i}" for i in range(BATCH_ASSETS)]
    keys = [dg.AssetKey(name) for name in names]
    samples = []
    with persistent_instance(dg, system, storage) as instance:
        start = time.perf_counter()
        store_materializations(dg, instance, names)
        setup_s = time.perf_counter() - start
        for _ in range(REPETITIONS):
            start = time.perf_counter()
            found = instance.get_latest_materialization_events(keys)
            samples.append(time.perf_counter() - start)
            if sum(event is not None for event in found.values()) != len(keys):
                raise RuntimeError("the batch read missed materialized assets")
    return {
        "batch_ms": statistics.median(samples) * 1000,
        "samples_batch_ms": [s * 1000 for s in samples],
        "keys": len(keys),
        "store_events_s": setup_s,
    }


def storage_eventlog(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """µs per event of `all_logs(run_id)` for the 100-asset chain run; median of
    EVENTLOG_READS reads."""
    assets = build_chain(dg, CHAIN_LENGTH, "a")
    samples = []
    with persistent_instance(dg, system, storage) as instance:
        timed_materialize(dg, build_chain(dg, 2, "warm"), instance)
        _, result = timed_materialize(dg, assets, instance)
        for _ in range(EVENTLOG_READS):
            start = time.perf_counter()
            events = instance.all_logs(result.run_id)
            samples.append(time.perf_counter() - start)
    per_event_us = [s * 1e6 / len(events) for s in samples]
    return {
        "us_per_event": statistics.median(per_event_us),
        "samples_us_per_event": per_event_us,
        "events": len(events),
    }


def storage_queue(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """Runs dequeued per second by the queued coordinator's dequeuer, with limits: QUEUE_RUNS
    runs submitted (QUEUED), then `dequeue_runs` iterations until every run was launched, under
    max_concurrent_runs QUEUE_MAX_CONCURRENT and a tag limit on every QUEUE_TAGGED_EVERY-th run.
    The launcher finishes each run at once, so a run's slot frees as soon as it is launched."""
    if system != "kubedag":
        raise Skipped("kubedag only: the reference's queue needs a code-location server")
    from kubedag.runs.dequeuer import dequeue_runs

    document: dict[str, Any] = {
        "run_coordinator": {
            "queued": {
                "max_concurrent_runs": QUEUE_MAX_CONCURRENT,
                "tag_concurrency_limits": [
                    {"key": "db", "value": "warehouse", "limit": QUEUE_TAG_LIMIT}
                ],
            }
        },
        "run_launcher": {"module": "instant_launcher", "class": "InstantRunLauncher"},
    }
    if storage.backend == "postgres":
        document["storage"] = {"postgres": {"postgres_url": storage.postgres_url}}
    home = tempfile.mkdtemp(prefix=f"bench-queue-{storage.backend}-")
    instance = dg.Instance.from_config(document, home=home)
    try:
        start = time.perf_counter()
        for index in range(QUEUE_RUNS):
            tags = {"db": "warehouse"} if index % QUEUE_TAGGED_EVERY == 0 else {}
            run = instance.create_run(job_name="queued_job", tags=tags)
            instance.submit_run(run.run_id)
        submit_s = time.perf_counter() - start
        limits = instance.run_coordinator.limits
        launched, iterations = 0, 0
        start = time.perf_counter()
        while launched < QUEUE_RUNS:
            batch = dequeue_runs(instance, limits)
            if not batch:
                raise RuntimeError("the dequeuer launched nothing while runs were queued")
            launched += len(batch)
            iterations += 1
        dequeue_s = time.perf_counter() - start
        done = instance.get_runs_count(dg.RunsFilter(statuses=[dg.RunStatus.SUCCESS]))
        if done != QUEUE_RUNS:
            raise RuntimeError(f"{done} of {QUEUE_RUNS} queued runs finished")
    finally:
        dispose(instance)
        shutil.rmtree(home, ignore_errors=True)
    return {
        "runs_per_s": QUEUE_RUNS / dequeue_s,
        "runs": QUEUE_RUNS,
        "dequeue_iterations": iterations,
        "submit_ms_per_run": submit_s * 1000 / QUEUE_RUNS,
        "max_concurrent_runs": QUEUE_MAX_CONCURRENT,
    }


StorageWorkload = Callable[[ModuleType, str, Storage, "argparse.Namespace"], Figures]

STORAGE_WORKLOADS: dict[str, StorageWorkload] = {
    "chain": lambda dg, system, storage, _: storage_chain(dg, system, storage),
    "logs": lambda dg, system, storage, args: storage_logs(
        dg, system, storage, args.log_lines or LOG_LINES[system]
    ),
    "latest": lambda dg, system, storage, _: storage_latest(dg, system, storage),
    "latest_batch": lambda dg, system, storage, _: storage_latest_batch(dg, system, storage),
    "eventlog": lambda dg, system, storage, _: storage_eventlog(dg, system, storage),
    "queue": lambda dg, system, storage, _: storage_queue(dg, system, storage),
}


def fanout_multiprocess_job() -> Any:
    """The 1 -> 200 -> 1 fan-out as an asset job. At module level, so that the reference's
    `reconstructable` can rebuild it in each step's fresh interpreter."""
    dg = importlib.import_module(os.environ.get(SYSTEM_ENV, "kubedag"))
    defs = dg.Definitions(
        assets=build_fanout(dg, FANOUT_WIDTH), jobs=[dg.define_asset_job("fanout_mp")]
    )
    return defs.get_job_def("fanout_mp")


def cpu_ms(who: int) -> float:
    usage = resource.getrusage(who)
    return (usage.ru_utime + usage.ru_stime) * 1000


def storage_fanout_multiprocess(dg: ModuleType, system: str, storage: Storage) -> Figures:
    """ms per step of the fan-out under the multiprocess executor (MULTIPROCESS_CONCURRENCY
    steps at a time) with `execute_job`: the steps do nothing, so the whole run is overhead.
    Median of MULTIPROCESS_RUNS runs on one instance (kubedag: after a warm-up run)."""
    os.environ[SYSTEM_ENV] = system
    job = dg.reconstructable(fanout_multiprocess_job)
    run_config = {
        "execution": {"config": {"multiprocess": {"max_concurrent": MULTIPROCESS_CONCURRENCY}}}
    }
    steps = FANOUT_WIDTH + 2
    runs = MULTIPROCESS_RUNS[system]
    samples, parent_cpu, children_cpu = [], [], []
    with persistent_instance(dg, system, storage) as instance:
        if system == "kubedag":
            dg.execute_job(job, instance, run_config=run_config)
        for _ in range(runs):
            cpu_before = cpu_ms(resource.RUSAGE_SELF), cpu_ms(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = dg.execute_job(job, instance, run_config=run_config)
            samples.append(time.perf_counter() - start)
            if not result.success:
                raise RuntimeError("the multiprocess fan-out reported failure")
            parent_cpu.append((cpu_ms(resource.RUSAGE_SELF) - cpu_before[0]) / steps)
            children_cpu.append((cpu_ms(resource.RUSAGE_CHILDREN) - cpu_before[1]) / steps)
    figures = step_figures(samples, steps)
    figures.update(
        max_concurrent=MULTIPROCESS_CONCURRENCY,
        runs=runs,
        parent_cpu_ms_per_step=statistics.median(parent_cpu),
        children_cpu_ms_per_step=statistics.median(children_cpu),
    )
    return figures


# Workloads that run on a persistent instance of one backend only.
SINGLE_BACKEND_WORKLOADS: dict[str, tuple[str, Callable[[ModuleType, str, Storage], Figures]]] = {
    "fanout_multiprocess": ("sqlite", storage_fanout_multiprocess),
}


def peak_rss_mib() -> float:
    """Peak resident set size of this process; ru_maxrss is KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# What a typical definitions file touches. kubedag loads names lazily, so the bare import alone
# would flatter it; the headline figure includes loading these.
CORE_API = ("asset", "op", "job", "Definitions", "materialize", "AssetExecutionContext")


def measure_import(system: str) -> tuple[ModuleType, Figures]:
    """Import the system and load its core API, timing it inside this process."""
    before = len(sys.modules)
    start = time.perf_counter()
    dg = importlib.import_module(system)
    bare = time.perf_counter() - start
    for name in CORE_API:
        getattr(dg, name)
    elapsed = time.perf_counter() - start
    figures = {
        "import_ms": elapsed * 1000,
        "bare_import_ms": bare * 1000,
        "modules": len(sys.modules),
        "modules_added": len(sys.modules) - before,
    }
    return dg, figures


WORKLOADS: dict[str, Callable[[ModuleType, str], Figures]] = {
    "chain": workload_chain,
    "fanout": workload_fanout,
    "fanout200": workload_fanout200,
    "one_op": workload_one_op,
    "memory": workload_memory,
    "schedule_ticks": workload_schedule_ticks,
    "automation_conditions": workload_automation_conditions,
    "partition_keys": workload_partition_keys,
}


STORAGE_WORKLOAD_NAMES = tuple(f"{w}_{b}" for w in STORAGE_WORKLOADS for b in BACKENDS)


def run(system: str, workload: str, args: argparse.Namespace) -> Figures:
    """Import the system, then run the workload; `import` is the import itself."""
    dg, import_figures = measure_import(system)
    if workload == "import":
        return import_figures
    if workload in WORKLOADS:
        return WORKLOADS[workload](dg, system)
    if workload in SINGLE_BACKEND_WORKLOADS:
        backend, measure = SINGLE_BACKEND_WORKLOADS[workload]
        return {"backend": backend, **measure(dg, system, Storage(backend))}
    what, backend = workload.rsplit("_", 1)
    storage = Storage(backend, args.postgres_url if backend == "postgres" else None)
    return {"backend": backend, **STORAGE_WORKLOADS[what](dg, system, storage, args)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=SYSTEMS, required=True)
    parser.add_argument(
        "--workload",
        choices=["import", *WORKLOADS, *STORAGE_WORKLOAD_NAMES, *SINGLE_BACKEND_WORKLOADS],
        required=True,
    )
    parser.add_argument(
        "--postgres-url",
        metavar="URL",
        help="an empty PostgreSQL database for *_postgres workloads (postgresql://...)",
    )
    parser.add_argument(
        "--log-lines",
        type=int,
        metavar="N",
        help=f"lines of the logs_* workloads (default {LOG_LINES})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = claim_stdout()
    try:
        figures = run(args.system, args.workload, args)
    except Skipped as skipped:
        figures = {"skipped": str(skipped)}
    record = {
        "system": args.system,
        "workload": args.workload,
        "python": platform.python_version(),
        **figures,
    }
    out.write(json.dumps(record) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
