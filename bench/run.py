"""Run the benchmark workloads in fresh processes and report them against kubedag's targets.

Why fresh processes: import time and peak memory are per-process facts, and a workload must not
profit from what an earlier one loaded or warmed. Each workload is `bench/workloads.py` run by
an interpreter: this one for kubedag, and with `--reference PYTHON` a second one (a venv where
Dagster is installed) for the same workloads on the reference system.

    python bench/run.py [--reference PYTHON] [--repeat N]

A missed target is reported, not fatal (exit 0, with MISSED printed); a crashing workload is
(exit 1, with its stderr shown).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORKLOADS_SCRIPT = Path(__file__).resolve().with_name("workloads.py")
TIMEOUT_S = 900
STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class Metric:
    """One headline figure of a workload; lower is better, `target` is kubedag's ceiling."""

    workload: str
    key: str
    label: str
    unit: str
    target: float
    default_runs: int


METRICS = (
    Metric("import", "import_ms", "import + core API", "ms", 100.0, 5),
    Metric("chain", "ms_per_step", "100-asset chain", "ms/step", 0.5, 1),
    Metric("fanout", "ms_per_step", "1->200->1 fan-out", "ms/step", 0.5, 1),
    Metric("one_op", "ms_per_run", "1-op job, fresh instance", "ms/run", 3.0, 1),
    Metric("memory", "peak_mib", "peak RSS, chain run", "MiB", 60.0, 1),
)


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
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def last_json_line(stdout: str) -> dict | None:
    """The last line of stdout that starts with '{', decoded; None if there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def run_once(python: str, system: str, workload: str, env: dict[str, str]) -> dict:
    """Run one workload in a fresh process and return its JSON record."""
    command = [python, str(WORKLOADS_SCRIPT), "--system", system, "--workload", workload]
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


def measure(python: str, system: str, metric: Metric, runs: int, env: dict[str, str]) -> float:
    """Median of the metric's headline figure over `runs` fresh processes."""
    return statistics.median(
        float(run_once(python, system, metric.workload, env)[metric.key]) for _ in range(runs)
    )


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


def measure_all(
    python: str, system: str, runs: int | None, env: dict[str, str]
) -> tuple[dict[str, float | None], bool]:
    """Headline figure per workload (None if it crashed) and whether anything crashed."""
    figures: dict[str, float | None] = {}
    crashed = False
    for metric in METRICS:
        print(f"  {system:<8} {metric.workload:<8}", end=" ", flush=True)
        try:
            figures[metric.workload] = measure(
                python, system, metric, runs or metric.default_runs, env
            )
            print(f"{format_value(figures[metric.workload])} {metric.unit}", flush=True)
        except WorkloadCrash as crash:
            figures[metric.workload] = None
            crashed = True
            report_crash(system, metric, crash)
    return figures, crashed


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


def format_value(value: float | None) -> str:
    if value is None:
        return "CRASH"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def status(metric: Metric, value: float | None) -> str:
    if value is None:
        return "CRASH"
    return "ok" if value <= metric.target else "MISSED"


def ratio(reference: float | None, ours: float | None) -> str:
    if reference is None or not ours:
        return "-"
    return f"{reference / ours:.1f}x"


def print_table(ours: dict[str, float | None], reference: dict[str, float | None] | None) -> None:
    header = f"{'workload':<26}{'kubedag':>10}  {'unit':<8}{'target':>8}  {'status':<8}"
    if reference is not None:
        header += f"{'dagster':>10}{'ratio':>8}"
    header = header.rstrip()
    print(f"\n{header}\n{'-' * len(header)}")
    for metric in METRICS:
        value = ours[metric.workload]
        row = (
            f"{metric.label:<26}{format_value(value):>10}  {metric.unit:<8}"
            f"{'<= ' + format_value(metric.target):>8}  {status(metric, value):<8}"
        )
        if reference is not None:
            theirs = reference[metric.workload]
            row += f"{format_value(theirs):>10}{ratio(theirs, value):>8}"
        print(row.rstrip())


def print_verdict(ours: dict[str, float | None]) -> None:
    missed = [
        f"{m.workload} {format_value(ours[m.workload])} {m.unit} > {format_value(m.target)}"
        for m in METRICS
        if status(m, ours[m.workload]) == "MISSED"
    ]
    if missed:
        print(f"\nMISSED {len(missed)} of {len(METRICS)} targets: " + "; ".join(missed))
    elif all(value is not None for value in ours.values()):
        print(f"\nall {len(METRICS)} targets met")


def measure_kubedag(runs: int | None, scratch: Path) -> tuple[dict[str, float | None], bool]:
    """kubedag's figures; if it cannot even be imported, say so once instead of per workload."""
    print(f"measuring kubedag with {sys.executable}", flush=True)
    problem = import_problem(sys.executable, "kubedag")
    if problem:
        print(f"CRASH kubedag cannot be imported by {sys.executable}: {problem}")
        return dict.fromkeys((m.workload for m in METRICS), None), True
    return measure_all(sys.executable, "kubedag", runs, system_env("kubedag", scratch))


def measure_reference(
    python: str, runs: int | None, scratch: Path
) -> tuple[dict[str, float | None] | None, bool]:
    """Dagster's figures under `python`, or None (after one line) if it has no dagster."""
    problem = import_problem(python, "dagster")
    if problem:
        print(f"reference skipped: {python} cannot import dagster ({problem})")
        return None, False
    print(f"measuring dagster with {python}", flush=True)
    return measure_all(python, "dagster", runs, system_env("dagster", scratch))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reference, ref_crashed = None, False
    with tempfile.TemporaryDirectory(prefix="kubedag-bench-") as scratch:
        ours, crashed = measure_kubedag(args.repeat, Path(scratch))
        if args.reference:
            reference, ref_crashed = measure_reference(args.reference, args.repeat, Path(scratch))
    print_table(ours, reference)
    print_verdict(ours)
    if crashed or ref_crashed:
        print("\nat least one workload crashed (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
