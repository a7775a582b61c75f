"""One benchmark workload, run in a fresh process, for kubedag or for the reference (Dagster).

Why a separate script: import time and peak memory only mean something in a process that has
loaded nothing else, and the same file must run unchanged under two interpreters (the project's
venv for kubedag, a second venv for Dagster). The system is chosen by name and loaded with
importlib, so every workload uses only the public API the two share (`dg.asset`,
`dg.materialize`, `dg.op`, `dg.job`); the one difference is the class of the ephemeral
instance.

    python bench/workloads.py --system kubedag|dagster --workload NAME

prints exactly one JSON line on stdout. Anything the system itself writes to stdout is sent to
stderr, so the caller can parse the last line of stdout that starts with '{'.
"""

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TextIO

SYSTEMS = ("kubedag", "dagster")
INSTANCE_CLASS = {"kubedag": "Instance", "dagster": "DagsterInstance"}
CHAIN_LENGTH = 100
FANOUT_WIDTH = 200
REPETITIONS = 3
ONE_OP_WARMUP = 3
ONE_OP_RUNS = 50

Figures = dict[str, Any]


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


def time_materialize(dg: ModuleType, system: str, assets: list[Any]) -> float:
    """Wall time in seconds of one in-process materialization on a fresh ephemeral instance."""
    instance = ephemeral_instance(dg, system)
    start = time.perf_counter()
    result = dg.materialize(assets, instance=instance)
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError("materialize reported failure")
    dispose(instance)
    return elapsed


def per_step(dg: ModuleType, system: str, assets: list[Any]) -> Figures:
    """Median ms per step over REPETITIONS materializations, after a 2-asset warm-up."""
    time_materialize(dg, system, build_chain(dg, 2, "warm"))
    samples = [time_materialize(dg, system, assets) for _ in range(REPETITIONS)]
    per_step_ms = [s * 1000 / len(assets) for s in samples]
    return {
        "ms_per_step": statistics.median(per_step_ms),
        "samples_ms_per_step": per_step_ms,
        "steps": len(assets),
    }


def workload_chain(dg: ModuleType, system: str) -> Figures:
    return per_step(dg, system, build_chain(dg, CHAIN_LENGTH, "a"))


def workload_fanout(dg: ModuleType, system: str) -> Figures:
    return per_step(dg, system, build_fanout(dg, FANOUT_WIDTH))


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
    "one_op": workload_one_op,
    "memory": workload_memory,
}


def run(system: str, workload: str) -> Figures:
    """Import the system, then run the workload; `import` is the import itself."""
    dg, import_figures = measure_import(system)
    if workload == "import":
        return import_figures
    return WORKLOADS[workload](dg, system)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=SYSTEMS, required=True)
    parser.add_argument("--workload", choices=["import", *WORKLOADS], required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = claim_stdout()
    figures = run(args.system, args.workload)
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
