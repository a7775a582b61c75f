"""Run the benchmark workloads in fresh processes and report them against kubedag's targets.

Why fresh processes: import time and peak memory are per-process facts, and a workload must not
profit from what an earlier one loaded or warmed. Each workload is `bench/workloads.py` run by
an interpreter: this one for kubedag, and with `--reference PYTHON` a second one (a venv where
Dagster is installed) for the same workloads on the reference system. The operator's workloads
(kubedag only) are `bench/operator_launch.py`, which starts its own emulated Kubernetes API,
PostgreSQL database and operator process.

PostgreSQL workloads (`*_postgres`) get a throw-away server that this script starts the first
time one needs it and stops at the end (`bench/postgres_server.py`), or the server named by
`KUBEDAG_BENCH_PG_URL`; each workload process gets a new, empty database. Without PostgreSQL
they are reported as skipped.

    python bench/run.py [--reference PYTHON] [--repeat N] [--only NAME[,NAME]]

A missed target is reported, not fatal (exit 0, with MISSED printed); a crashing workload is
(exit 1, with its stderr shown), and so is a PostgreSQL server that exists but does not start.
"""

import argparse
import fnmatch
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from postgres_server import BenchPostgres, PostgresError, PostgresUnavailable

WORKLOADS_SCRIPT = Path(__file__).resolve().with_name("workloads.py")
# The operator's workloads (kubedag only) start an emulated Kubernetes API and the operator
# process; they live in a script of their own.
OPERATOR_SCRIPT = Path(__file__).resolve().with_name("operator_launch.py")
OPERATOR_WORKLOADS = ("operator_launch", "operator_memory")
TIMEOUT_S = 900
STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class Metric:
    """One headline figure of a workload; lower is better, `target` is kubedag's ceiling (None:
    reported, no target yet). `published` is the reference's figure in shared/PERFORMANCE.md."""

    workload: str
    key: str
    label: str
    unit: str
    target: float | None
    default_runs: int
    published: float | None = None
    kubedag_only: bool = False

    @property
    def needs_postgres(self) -> bool:
        return self.workload.endswith("_postgres")


@dataclass(frozen=True)
class Skip:
    """A figure that was not measured; `reason` is e.g. "no PostgreSQL" or "not installed: ..."."""

    reason: str

    @property
    def short(self) -> str:
        return self.reason.split(":")[0].split("(")[0].strip()


# A workload's figure: a number, a Skip, or None when it crashed.
Figure = float | Skip | None

METRICS = (
    Metric("import", "import_ms", "import + core API", "ms", 100.0, 5, 590.0),
    Metric("chain", "ms_per_step", "100-asset chain", "ms/step", 0.5, 1, 13.6),
    Metric("fanout", "ms_per_step", "1->200->1 fan-out", "ms/step", 0.5, 1, 16.1),
    Metric("fanout200", "ms_per_step", "1->200->1 fan-out, inputs", "ms/step", 1.0, 1),
    Metric("one_op", "ms_per_run", "1-op job, fresh instance", "ms/run", 3.0, 1, 59.0),
    Metric("memory", "peak_mib", "peak RSS, chain run", "MiB", 60.0, 1, 112.0),
    Metric("schedule_ticks", "total_ms", "1,000 schedules x 1 day", "ms", None, 1, None, True),
    Metric("automation_conditions", "ms", "automation, 1,000-asset graph", "ms", None, 1),
    Metric("partition_keys", "ms_per_call", "100,000 hourly partition keys", "ms/call", 1000.0, 1),
    Metric("chain_sqlite", "ms_per_step", "chain, SQLite", "ms/step", 3.0, 1, 57.0),
    Metric("chain_postgres", "ms_per_step", "chain, PostgreSQL", "ms/step", 3.0, 1, 72.0),
    Metric("logs_sqlite", "us_per_line", "log lines, SQLite", "us/line", 50.0, 1, 2600.0),
    Metric("logs_postgres", "us_per_line", "log lines, PostgreSQL", "us/line", 50.0, 1, 3400.0),
    Metric(
        "latest_sqlite", "ms_per_read", "latest materialization, SQLite", "ms/read", 0.5, 1, 9.1
    ),
    Metric("latest_postgres", "ms_per_read", "latest materialization, PG", "ms/read", 0.5, 1, 16.8),
    Metric(
        "latest_batch_sqlite",
        "batch_ms",
        "latest, 10k-key batch, SQLite",
        "ms/call",
        100.0,
        1,
        kubedag_only=True,
    ),
    Metric(
        "latest_batch_postgres",
        "batch_ms",
        "latest, 10k-key batch, PG",
        "ms/call",
        100.0,
        1,
        kubedag_only=True,
    ),
    Metric("eventlog_sqlite", "us_per_event", "run event log, SQLite", "us/event", None, 1, 48.0),
    Metric("eventlog_postgres", "us_per_event", "run event log, PG", "us/event", None, 1),
    Metric("queue_sqlite", "runs_per_s", "queue: runs dequeued, SQLite", "runs/s", None, 1),
    Metric("queue_postgres", "runs_per_s", "queue: runs dequeued, PG", "runs/s", None, 1),
    Metric(
        "fanout_multiprocess",
        "ms_per_step",
        "fan-out, multiprocess x2, SQLite",
        "ms/step",
        20.0,
        1,
    ),
    Metric(
        "operator_launch",
        "ms_median",
        "Run->pod, one at a time, median",
        "ms",
        None,
        1,
        kubedag_only=True,
    ),
    Metric(
        "operator_launch",
        "ms_p99",
        "Run->pod, one at a time, p99",
        "ms",
        None,
        1,
        kubedag_only=True,
    ),
    Metric(
        "operator_launch",
        "burst_runs_per_s",
        "Runs->pods, burst of 200",
        "runs/s",
        None,
        1,
        kubedag_only=True,
    ),
    Metric(
        "operator_memory", "rss_mib", "operator RSS, 1,000 Runs", "MiB", None, 1, kubedag_only=True
    ),
    Metric(
        "operator_memory", "idle_rss_mib", "operator RSS, no Run", "MiB", None, 1, kubedag_only=True
    ),
)
WORKLOAD_NAMES = tuple(dict.fromkeys(m.workload for m in METRICS))


class WorkloadCrash(Exception):
    """A workload process failed, timed out, or printed no JSON line."""

    def __init__(self, what: str, stderr: str) -> None:
        super().__init__(what)
        self.stderr = stderr


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        metavar="PYTHON",
        help="python of a venv where dagster is installed; adds reference figures and ratios",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="fresh processes per workload, median reported (default: 5 for import, else 1)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME[,NAME]",
        help="run only these workloads (shell patterns allowed, e.g. '*_postgres'); one of: "
        + ", ".join(WORKLOAD_NAMES),
    )
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        args.metrics = select_metrics(args.only)
    except ValueError as error:
        parser.error(str(error))
    return args


def select_metrics(only: list[str] | None) -> tuple[Metric, ...]:
    """The metrics whose workload matches one of the comma-separated names or patterns."""
    if not only:
        return METRICS
    patterns = [p.strip() for item in only for p in item.split(",") if p.strip()]
    unknown = [p for p in patterns if not fnmatch.filter(WORKLOAD_NAMES, p)]
    if unknown:
        raise ValueError(
            f"--only: no workload named {', '.join(unknown)}; "
            f"choose from {', '.join(WORKLOAD_NAMES)}"
        )
    return tuple(m for m in METRICS if any(fnmatch.fnmatchcase(m.workload, p) for p in patterns))


def last_json_line(stdout: str) -> dict | None:
    """The last line of stdout that starts with '{', decoded; None if there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def run_once(
    python: str, system: str, workload: str, env: dict[str, str], postgres_url: str | None = None
) -> dict:
    """Run one workload in a fresh process and return its JSON record."""
    script = OPERATOR_SCRIPT if workload in OPERATOR_WORKLOADS else WORKLOADS_SCRIPT
    command = [python, str(script), "--system", system, "--workload", workload]
    if postgres_url:
        command += ["--postgres-url", postgres_url]
    with tempfile.TemporaryFile(mode="w+") as stderr:
        try:
            done = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as timeout:
            stderr.seek(0)
            raise WorkloadCrash(f"timed out after {timeout.timeout:.0f} s", stderr.read()) from None
        stderr.seek(0)
        errors = stderr.read()
    if done.returncode != 0:
        raise WorkloadCrash(f"exit code {done.returncode}", errors)
    record = last_json_line(done.stdout)
    if record is None:
        raise WorkloadCrash("no JSON line on stdout", errors + done.stdout)
    return record


def run_workload(
    python: str, system: str, metric: Metric, env: dict[str, str], postgres: BenchPostgres
) -> dict:
    """One fresh process; a PostgreSQL workload gets a new database, dropped afterwards."""
    if not metric.needs_postgres:
        return run_once(python, system, metric.workload, env)
    try:
        with postgres.database(f"{metric.workload}_{system}") as url:
            return run_once(python, system, metric.workload, env, url)
    except (PostgresUnavailable, PostgresError) as error:
        raise WorkloadCrash(f"PostgreSQL: {error}", "") from error


# Records (or the crash) of each (python, system, workload) in this invocation: a workload with
# several metrics (operator_launch: median, p99, burst) runs once for all of them.
_RECORDS: dict[tuple[str, str, str], list[dict]] = {}
_CRASHES: dict[tuple[str, str, str], WorkloadCrash] = {}


def workload_records(
    python: str,
    system: str,
    metric: Metric,
    runs: int,
    env: dict[str, str],
    postgres: BenchPostgres,
) -> list[dict]:
    """`runs` records of the metric's workload, each from a fresh process, reusing those that
    an earlier metric of the same workload got (and its crash, which is not retried)."""
    key = (python, system, metric.workload)
    if key in _CRASHES:
        raise _CRASHES[key]
    records = _RECORDS.setdefault(key, [])
    try:
        while len(records) < runs:
            records.append(run_workload(python, system, metric, env, postgres))
    except WorkloadCrash as crash:
        _CRASHES[key] = crash
        raise
    return records[:runs]


def measure(
    python: str,
    system: str,
    metric: Metric,
    runs: int,
    env: dict[str, str],
    postgres: BenchPostgres,
) -> float | Skip:
    """Median of the metric's headline figure over `runs` fresh processes, or why it was not
    measured (the workload said it was skipped)."""
    values = []
    for record in workload_records(python, system, metric, runs, env, postgres):
        if "skipped" in record:
            return Skip(str(record["skipped"]))
        if metric.key not in record:
            raise WorkloadCrash(f"no {metric.key!r} in its JSON line", json.dumps(record))
        values.append(float(record[metric.key]))
    return statistics.median(values)


def system_env(system: str, scratch: Path) -> dict[str, str]:
    """Environment of a workload process; Dagster gets an empty DAGSTER_HOME of its own."""
    env = dict(os.environ)
    # Installed packages run from bytecode; without a cache every process would recompile.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if system == "dagster":
        home = scratch / "dagster_home"
        home.mkdir(exist_ok=True)
        env["DAGSTER_HOME"] = str(home)
    return env


def report_crash(system: str, metric: Metric, crash: WorkloadCrash) -> None:
    tail = "\n".join(crash.stderr.rstrip().splitlines()[-STDERR_TAIL_LINES:])
    print(f"\nCRASH {system} {metric.workload}: {crash}\n--- stderr (last lines) ---", flush=True)
    print(tail or "(empty)")
    print("---", flush=True)


def postgres_ready(postgres: BenchPostgres) -> Skip | None:
    """Start the server if need be (saying so once); a Skip if there is none to be had."""
    announce = not postgres.started
    try:
        postgres.start()
    except PostgresUnavailable as unavailable:
        return Skip(f"no PostgreSQL ({unavailable})")
    if announce:
        print(f"  PostgreSQL: {postgres.description}", flush=True)
    return None


def measure_all(
    python: str,
    system: str,
    metrics: tuple[Metric, ...],
    runs: int | None,
    env: dict[str, str],
    postgres: BenchPostgres,
) -> tuple[dict[Metric, Figure], bool]:
    """Headline figure per workload (None if it crashed, a Skip if not measured) and whether
    anything crashed."""
    figures: dict[Metric, Figure] = {}
    crashed = False
    for metric in metrics:
        if system != "kubedag" and metric.kubedag_only:
            figures[metric] = Skip("n/a: kubedag only")
            continue
        if metric.needs_postgres:
            unavailable = postgres_ready(postgres)
            if unavailable is not None:
                figures[metric] = unavailable
                print(f"  {system:<8} {metric.workload:<22} skipped: {unavailable.reason}")
                continue
        print(f"  {system:<8} {progress_name(metric):<22}", end=" ", flush=True)
        try:
            figure = measure(python, system, metric, runs or metric.default_runs, env, postgres)
        except WorkloadCrash as crash:
            figures[metric] = None
            crashed = True
            report_crash(system, metric, crash)
            continue
        figures[metric] = figure
        if isinstance(figure, Skip):
            print(f"skipped: {figure.reason}", flush=True)
        else:
            print(f"{format_value(figure)} {metric.unit}", flush=True)
    return figures, crashed


def progress_name(metric: Metric) -> str:
    """The workload's name, with the figure's key when the workload has several figures."""
    several = sum(m.workload == metric.workload for m in METRICS) > 1
    return f"{metric.workload}:{metric.key}" if several else metric.workload


def import_problem(python: str, module: str) -> str | None:
    """Why `python` cannot import `module` (its last stderr line), or None if it can."""
    try:
        done = subprocess.run(
            [python, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except OSError as error:
        return str(error)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {done.returncode}"
    return None


def format_value(value: Figure, skip_reason: bool = True) -> str:
    """A figure for the table; a skip shows its short reason, or "-" where there is no room."""
    if value is None:
        return "CRASH"
    if isinstance(value, Skip):
        return value.short if skip_reason else "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def format_target(metric: Metric) -> str:
    return "-" if metric.target is None else "<= " + format_value(metric.target)


def status(metric: Metric, value: Figure) -> str:
    if value is None:
        return "CRASH"
    if isinstance(value, Skip):
        return "skipped: " + value.short
    if metric.target is None:
        return "no target"
    return "ok" if value <= metric.target else "MISSED"


def ratio(reference: Figure, ours: Figure) -> str:
    if not isinstance(reference, float) or not isinstance(ours, float) or not ours:
        return "-"
    return f"{reference / ours:.1f}x"


def print_table(
    metrics: tuple[Metric, ...],
    ours: dict[Metric, Figure],
    reference: dict[Metric, Figure] | None,
) -> None:
    """One row per metric; the status goes last because a skip reason can be long."""
    header = f"{'workload':<32}{'kubedag':>9}  {'unit':<9}{'target':>8}{'published':>11}"
    if reference is not None:
        header += f"{'dagster':>15}{'ratio':>8}"
    header += "  status"
    print(f"\n{header}\n{'-' * len(header)}")
    for metric in metrics:
        value = ours[metric]
        published = "-" if metric.published is None else format_value(metric.published)
        row = (
            f"{metric.label:<32}{format_value(value, skip_reason=False):>9}  {metric.unit:<9}"
            f"{format_target(metric):>8}{published:>11}"
        )
        if reference is not None:
            theirs = reference[metric]
            row += f"{format_value(theirs):>15}{ratio(theirs, value):>8}"
        print(f"{row}  {status(metric, value)}")
    print("\npublished: the reference's figure in shared/PERFORMANCE.md (Dagster 1.13.27)")
    if reference is not None:
        print("ratio: dagster / kubedag as measured now (higher is better for kubedag)")


def print_verdict(metrics: tuple[Metric, ...], ours: dict[Metric, Figure]) -> None:
    judged = [m for m in metrics if m.target is not None]
    missed = [
        f"{m.workload} {format_value(ours[m])} {m.unit} > {format_value(m.target)}"
        for m in judged
        if status(m, ours[m]) == "MISSED"
    ]
    skipped = list(dict.fromkeys(m.workload for m in metrics if isinstance(ours[m], Skip)))
    if missed:
        print(f"\nMISSED {len(missed)} of {len(judged)} targets: " + "; ".join(missed))
    elif all(ours[m] is not None for m in judged):
        measured = [m for m in judged if isinstance(ours[m], float)]
        if measured:
            print(f"\nall {len(measured)} measured targets met")
    if skipped:
        print(f"skipped: {', '.join(skipped)}")


def measure_kubedag(
    metrics: tuple[Metric, ...], runs: int | None, scratch: Path, postgres: BenchPostgres
) -> tuple[dict[Metric, Figure], bool]:
    """kubedag's figures; if it cannot even be imported, say so once instead of per workload."""
    print(f"measuring kubedag with {sys.executable}", flush=True)
    problem = import_problem(sys.executable, "kubedag")
    if problem:
        print(f"CRASH kubedag cannot be imported by {sys.executable}: {problem}")
        return dict.fromkeys(metrics, None), True
    env = system_env("kubedag", scratch)
    return measure_all(sys.executable, "kubedag", metrics, runs, env, postgres)


def measure_reference(
    python: str,
    metrics: tuple[Metric, ...],
    runs: int | None,
    scratch: Path,
    postgres: BenchPostgres,
) -> tuple[dict[Metric, Figure] | None, bool]:
    """Dagster's figures under `python`, or None (after one line) if it has no dagster."""
    problem = import_problem(python, "dagster")
    if problem:
        print(f"reference skipped: {python} cannot import dagster ({problem})")
        return None, False
    print(f"measuring dagster with {python}", flush=True)
    env = system_env("dagster", scratch)
    return measure_all(python, "dagster", metrics, runs, env, postgres)


def machine_speed_ms() -> float:
    """How long a fixed pure-Python loop takes here now, median of 3: the figures above scale
    with it. On a shared virtual machine it drifts by half or more within minutes, so a figure
    near its target is only comparable with one measured at a similar speed."""
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reference, ref_crashed = None, False
    speed_before = machine_speed_ms()
    with (
        tempfile.TemporaryDirectory(prefix="kubedag-bench-") as scratch,
        BenchPostgres() as postgres,  # stopped (if started) however the run ends
    ):
        ours, crashed = measure_kubedag(args.metrics, args.repeat, Path(scratch), postgres)
        if args.reference:
            reference, ref_crashed = measure_reference(
                args.reference, args.metrics, args.repeat, Path(scratch), postgres
            )
    if postgres.failure is not None:
        print(f"\nPostgreSQL is not usable; its workloads were skipped:\n{postgres.failure}")
    print_table(args.metrics, ours, reference)
    print(
        f"machine speed: a fixed Python loop took {speed_before:.0f} ms before and "
        f"{machine_speed_ms():.0f} ms after (lower is faster)"
    )
    print_verdict(args.metrics, ours)
    if postgres.failure is not None:
        return 1
    if crashed or ref_crashed:
        print("\nat least one workload crashed (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
