"""`kubedag`: the command line.

Commands are thin: parse arguments, load the code location (`kubedag.code_location`), call the
runtime, and print what happened with the pure formatters of `summary` and `listing`.

Exit codes are part of the interface, so scripts and CI can tell failures apart:
- 0: the command did what was asked (for `materialize`: the run succeeded);
- 1: a run started and failed; the summary shows the failing step's error and traceback;
- 2: nothing ran, because the command line, the code location, the selection or the run config
  is wrong; one message on stderr says what and how to fix it, without a Python traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kubedag import __version__
from kubedag.cli.listing import format_definitions
from kubedag.cli.summary import format_log_lines, format_progress_line, format_run_summary
from kubedag.code_location.load import load_definitions
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.definitions import Definitions
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.definitions.selection import AssetSelection
from kubedag.errors import InvalidConfigError, InvalidDefinitionError, KubedagError
from kubedag.execution.events import STEP_TERMINAL_EVENTS, EventLogEntry
from kubedag.execution.run import execute_job
from kubedag.instance.instance import Instance

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# -- arguments ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubedag",
        description="Materialize and inspect the assets of a kubedag code location.",
    )
    parser.add_argument("--version", action="version", version=f"kubedag {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    materialize = commands.add_parser(
        "materialize",
        help="materialize assets on the local instance and print a summary",
        description=(
            "Materialize the assets of a code location (all of them, or --select) in this "
            "process, on the local instance ($KUBEDAG_HOME, default ~/.kubedag), and print "
            "what happened. Values are stored under $KUBEDAG_HOME/storage."
        ),
    )
    _add_code_location_arguments(materialize)
    materialize.add_argument(
        "--select",
        nargs="+",
        action="extend",
        metavar="KEY",
        help="asset keys to materialize, parts joined by '/' (default: every asset); the "
        "checks of selected assets run too",
    )
    materialize.add_argument(
        "--partition", metavar="KEY", help="partition key, for partitioned assets"
    )
    materialize.add_argument(
        "--config", metavar="RUN_CONFIG.yaml", help="run config file (ops, resources, loggers)"
    )
    materialize.set_defaults(handler=run_materialize)

    listing = commands.add_parser(
        "list",
        help="list assets, checks, jobs, schedules and sensors",
        description="List what a code location defines, without running anything.",
    )
    _add_code_location_arguments(listing)
    listing.set_defaults(handler=run_list)
    return parser


def _add_code_location_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "-f", "--python-file", metavar="FILE", help="Python file that defines dg.Definitions"
    )
    where.add_argument(
        "-m",
        "--module-name",
        metavar="MODULE",
        help="importable module that defines dg.Definitions (the current directory is on the path)",
    )
    parser.add_argument(
        "-a",
        "--attribute",
        metavar="ATTRIBUTE",
        help="name of the dg.Definitions object, when the module has several",
    )


# -- commands ----------------------------------------------------------------------------------
def load_code_location(args: argparse.Namespace) -> Definitions:
    if args.module_name is not None and os.getcwd() not in sys.path:
        # As with `python -m`, modules in the current directory are importable.
        sys.path.insert(0, os.getcwd())
    return load_definitions(
        python_file=args.python_file, module_name=args.module_name, attribute=args.attribute
    )


def load_run_config(path: str) -> dict[str, Any]:
    """A run config file's contents; every problem is an `InvalidConfigError` naming the file."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidConfigError(
            f"Run config file '{path}' cannot be read: {exc.strerror or exc}."
        ) from None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise InvalidConfigError(f"Run config file '{path}' is not valid YAML: {detail}.") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidConfigError(
            f"Run config file '{path}' must hold a mapping (ops:, resources:, loggers:, "
            f"execution:); it holds a {type(value).__name__}."
        )
    return value


def selected_job(defs: Definitions, select: Sequence[str] | None) -> JobDefinition:
    """The code location's asset job, restricted to `select` (asset keys) when given."""
    if not defs.asset_graph.materializable_keys:
        raise InvalidDefinitionError(
            "The code location defines no assets to materialize; add @dg.asset functions to "
            "its dg.Definitions(assets=[...])."
        )
    job = defs.get_implicit_global_asset_job_def()
    if not select:
        return job
    keys = [AssetKey.from_user_string(text) for text in select]
    return job.with_asset_selection(AssetSelection.keys(*keys))


def data_location(job: JobDefinition, instance: Instance) -> str:
    if DEFAULT_IO_MANAGER_KEY in job.resource_defs:
        manager = type(job.resource_defs[DEFAULT_IO_MANAGER_KEY]).__name__
        return f"wherever the definitions' own io_manager ({manager}) puts it"
    return (
        f"{instance.storage_directory()} (one file per asset, written by the default "
        "FilesystemIOManager)"
    )


def write_run_log(instance: Instance, run_id: str, entries: Sequence[EventLogEntry]) -> Path:
    """Keep the run's event log as text under the instance directory (run and event storage is
    still in memory, so this file is what outlives the command)."""
    path = Path(instance.root_directory, "logs", f"{run_id}.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(format_log_lines(entries)) + "\n")
    return path


def run_materialize(args: argparse.Namespace) -> int:
    defs = load_code_location(args)
    run_config = load_run_config(args.config) if args.config else None
    job = selected_job(defs, args.select)
    if job.partitions_def is not None and args.partition is None:
        raise InvalidConfigError(
            f"The selected assets are partitioned ({job.partitions_def}); say which partition "
            "to materialize with --partition KEY."
        )
    instance = Instance.get()
    assets = len(job.selection.asset_keys) if job.selection is not None else 0
    checks = len(job.selection.check_keys) if job.selection is not None else 0
    source = args.python_file or args.module_name
    print(
        f"Materializing {_count(assets, 'asset')} and {_count(checks, 'check')} from {source} "
        f"on the local instance at {instance.root_directory} ...",
        file=sys.stderr,
        flush=True,
    )
    result = execute_job(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=args.partition,
        raise_on_error=False,
        default_io_manager="filesystem",
        event_listener=_progress_printer(len(job.steps)),
    )
    entries = instance.all_logs(result.run_id)
    log_path = write_run_log(instance, result.run_id, entries)
    summary = format_run_summary(
        entries,
        run_id=result.run_id,
        data_location=data_location(job, instance),
        log_location=f"{log_path} (every event; step logs also went to stderr as they ran)",
    )
    sys.stdout.write(summary)
    return EXIT_OK if result.success else EXIT_RUN_FAILED


def _progress_printer(total: int) -> Callable[[EventLogEntry], None]:
    """Print each step to stderr as it finishes, so a long run shows where it is."""
    finished = 0

    def show(entry: EventLogEntry) -> None:
        nonlocal finished
        if entry.event is not None and entry.event.event_type in STEP_TERMINAL_EVENTS:
            finished += 1
        line = format_progress_line(entry, finished, total)
        if line is not None:
            print(line, file=sys.stderr, flush=True)

    return show


def run_list(args: argparse.Namespace) -> int:
    sys.stdout.write(format_definitions(load_code_location(args)))
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# -- entry point -------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KubedagError as exc:
        print(f"kubedag: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kubedag: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
