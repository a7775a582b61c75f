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
from collections.abc import Callable, Sequence

from kubedag.cli.assets import add_assets_commands
from kubedag.cli.backfill import add_backfill_commands
from kubedag.cli.code_location_args import (
    add_code_location_arguments,
    load_code_location,
    load_run_config,
    selected_job,
)
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
from kubedag.cli.summary import format_run_summary
from kubedag.cli.tables import hide_url_passwords
from kubedag.cli.terminal import data_location, progress_printer, terminal_stderr
from kubedag.cli.worker_cmd import add_worker_commands
from kubedag.config.run_config import resolve_run_config
from kubedag.errors import InvalidConfigError, KubedagError
from kubedag.execution.run import execute_job
from kubedag.version import __version__

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
    add_code_location_arguments(materialize)
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
    add_code_location_arguments(listing)
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


# -- commands ----------------------------------------------------------------------------------
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
            event_listener=progress_printer(len(job.steps), terminal),
        )
        summary = format_run_summary(
            instance.all_logs(result.run_id),
            run_id=result.run_id,
            data_location=data_location(job, instance),
        )
    sys.stdout.write(summary)
    return EXIT_OK if result.success else EXIT_RUN_FAILED


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
