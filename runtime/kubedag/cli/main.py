"""`kubedag`: the command line.

Commands are thin: parse arguments, load the code location (`kubedag.code_location`) or open the
local instance (`$KUBEDAG_HOME`, default `~/.kubedag`), call the runtime, and print with pure
formatters. One module per group of commands:

- `materialize`, `list` (here): run a code location's assets; list what it defines;
- `job launch`, `job execute` (`job`): submit a job's run to the coordinator; run it here;
- `runs list`, `runs show` (`runs`): the runs stored in the instance, one run in detail;
- `assets list` (`assets`): what has been materialized, when, by which run;
- `logs` (`logs`): what a run's steps printed, captured by the compute log manager;
- `instance info`, `instance migrate` (`instance_cmd`): what the instance is made of; bring its
  database schema up to date.

Summaries and tables are built in `summary`, `listing` and `tables`. Every command that opens the
instance disposes it before it returns.

Exit codes are part of the interface, so scripts and CI can tell failures apart
(`kubedag.cli.exit_codes`):
- 0: the command did what was asked (for `materialize`: the run succeeded);
- 1: `materialize` started a run and it failed; the summary shows the failing step's error and
  traceback;
- 2: nothing was done, because the command line, the code location, the selection, the run
  config or the instance is wrong, or a run or step named does not exist; one message on stderr
  says what and how to fix it, without a Python traceback;
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from kubedag import __version__
from kubedag.cli.assets import add_assets_commands
from kubedag.cli.backfill import add_backfill_commands
from kubedag.cli.code_server_cmd import add_code_server_commands
from kubedag.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE
from kubedag.cli.instance_cmd import add_instance_commands, local_instance
from kubedag.cli.job import add_job_commands
from kubedag.cli.listing import format_definitions
from kubedag.cli.logs import add_logs_command
from kubedag.cli.manifests_cmd import add_manifests_command
from kubedag.cli.operator_cmd import add_operator_commands
from kubedag.cli.runs import add_runs_commands
from kubedag.cli.schedule_cmd import add_schedule_commands
from kubedag.cli.summary import format_progress_line, format_run_summary
from kubedag.cli.tables import hide_url_passwords
from kubedag.cli.worker_cmd import add_worker_commands
from kubedag.code_location.load import load_definitions
from kubedag.config.run_config import resolve_run_config
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.definitions import Definitions
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.definitions.selection import AssetSelection
from kubedag.errors import InvalidConfigError, InvalidDefinitionError, KubedagError
from kubedag.execution.events import STEP_TERMINAL_EVENTS, EventLogEntry
from kubedag.execution.run import execute_job
from kubedag.instance.instance import Instance

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUN_FAILED", "EXIT_USAGE", "build_parser", "main"]


# -- arguments ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubedag",
        description=(
            "Materialize the assets of a kubedag code location, and inspect what the local "
            "instance ($KUBEDAG_HOME, default ~/.kubedag) holds: runs, assets, step logs."
        ),
        epilog="Exit codes: 0 done, 1 the materialized run failed, 2 usage, code location or "
        "instance error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"kubedag {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    materialize = commands.add_parser(
        "materialize",
        help="materialize assets on the local instance and print a summary",
        description=(
            "Materialize the assets of a code location (all of them, or --select) in this "
            "process, on the local instance ($KUBEDAG_HOME, default ~/.kubedag), show each step "
            "as it finishes, and print a summary. The run, its events and its step logs are "
            "stored in the instance (see `kubedag runs show` and `kubedag logs`); values under "
            "$KUBEDAG_HOME/storage. Exits 1 if the run fails."
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

    add_job_commands(commands)
    add_runs_commands(commands)
    add_assets_commands(commands)
    add_logs_command(commands)
    add_instance_commands(commands)
    add_worker_commands(commands)
    add_schedule_commands(commands)
    add_backfill_commands(commands)
    add_code_server_commands(commands)
    add_operator_commands(commands)
    add_manifests_command(commands)
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
    # libyaml when present: ~15x faster on a large file (10 MB: 0.4 s instead of 6.5 s).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        value = yaml.load(text, Loader=loader)
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


def run_materialize(args: argparse.Namespace) -> int:
    defs = load_code_location(args)
    run_config = load_run_config(args.config) if args.config else None
    job = selected_job(defs, args.select)
    resolve_run_config(job, run_config)  # before the instance is opened: a mistake leaves no trace
    if job.partitions_def is not None and args.partition is None:
        raise InvalidConfigError(
            f"The selected assets are partitioned ({job.partitions_def}); say which partition "
            "to materialize with --partition KEY."
        )
    assets = len(job.selection.asset_keys) if job.selection is not None else 0
    checks = len(job.selection.check_keys) if job.selection is not None else 0
    source = args.python_file or args.module_name
    with local_instance() as instance, terminal_stderr() as terminal:
        print(
            f"Materializing {_count(assets, 'asset')} and {_count(checks, 'check')} from "
            f"{source} on the local instance at {instance.root_directory} ...",
            file=terminal,
        )
        result = execute_job(
            job,
            run_config=run_config,
            instance=instance,
            partition_key=args.partition,
            raise_on_error=False,
            default_io_manager="filesystem",
            event_listener=_progress_printer(len(job.steps), terminal),
        )
        summary = format_run_summary(
            instance.all_logs(result.run_id),
            run_id=result.run_id,
            data_location=data_location(job, instance),
        )
    sys.stdout.write(summary)
    return EXIT_OK if result.success else EXIT_RUN_FAILED


@contextlib.contextmanager
def terminal_stderr() -> Iterator[TextIO]:
    """A stream to what stderr is now, for live progress.

    While a step runs, the compute log manager points descriptors 1 and 2 (and `sys.stderr`) at
    the step's log, so printing progress to `sys.stderr` from inside a step would put the CLI's
    progress lines into the user's step logs. A duplicate of descriptor 2, taken before any step
    starts, still reaches the terminal and is not captured."""
    sys.stderr.flush()
    try:
        stream = os.fdopen(os.dup(2), "w", buffering=1)
    except OSError:  # no descriptor 2 (a detached process): progress goes nowhere
        stream = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        yield stream
    finally:
        stream.close()


def _progress_printer(total: int, stream: TextIO) -> Callable[[EventLogEntry], None]:
    """Print each step to `stream` as it finishes, so a long run shows where it is."""
    finished = 0

    def show(entry: EventLogEntry) -> None:
        nonlocal finished
        if entry.event is not None and entry.event.event_type in STEP_TERMINAL_EVENTS:
            finished += 1
        line = format_progress_line(entry, finished, total)
        if line is not None:
            print(line, file=stream, flush=True)

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
        print(f"kubedag: error: {hide_url_passwords(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kubedag: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `kubedag logs RUN_ID | head`: the reader stopped early, which is not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not complain again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
