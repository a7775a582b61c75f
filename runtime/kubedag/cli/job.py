"""`kubedag job launch` and `kubedag job execute`: run a job of a code location.

`launch` checks the run (config, resources, environment, partition), stores its record with the
code location, and hands it to the instance's run coordinator: the default one starts a run
worker at once, the queued one leaves it to `kubedag daemon`. It prints the run id as its last
line, for scripts (`RUN_ID=$(kubedag job launch … | tail -n1)`).

`execute` runs the same record in the foreground, with the job's executor, showing each step as
it finishes, and prints the summary `materialize` prints. It exits 1 when the run fails.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK, EXIT_RUN_FAILED
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.runs import parse_tag
from kubedag.cli.summary import format_run_summary
from kubedag.config.run_config import resolve_run_config
from kubedag.definitions.job import JobDefinition
from kubedag.records.run import RunStatus
from kubedag.runs.submission import code_location_for, create_run_for_job


def add_job_commands(commands: Any) -> None:
    from kubedag.cli.code_location_args import add_code_location_arguments

    job = commands.add_parser(
        "job",
        help="launch or execute a job of a code location",
        description="Run a job of a code location: in the background through the instance's "
        "run coordinator and launcher (launch), or in this process (execute).",
    )
    actions = job.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    launch = actions.add_parser(
        "launch",
        help="submit a run; print its id",
        description="Check the run, store it and submit it to the instance's run coordinator "
        "(the queued coordinator leaves it to `kubedag daemon`). The run id is the last line "
        "printed.",
    )
    execute = actions.add_parser(
        "execute",
        help="run a job here, showing each step",
        description="Run a job in this process with its executor, show each step as it "
        "finishes, and print a summary. Exits 1 if the run fails.",
    )
    for parser, handler in ((launch, run_job_launch), (execute, run_job_execute)):
        add_code_location_arguments(parser)
        parser.add_argument("--job", required=True, metavar="NAME", help="the job to run")
        parser.add_argument(
            "--tag",
            action="append",
            type=parse_tag,
            default=[],
            metavar="KEY=VALUE",
            help="a tag for the run (repeatable)",
        )
        parser.add_argument(
            "--config", metavar="RUN_CONFIG.yaml", help="run config file (ops, resources, …)"
        )
        parser.add_argument("--partition", metavar="KEY", help="partition key of the run")
        parser.set_defaults(handler=handler)


def _job_and_config(args: argparse.Namespace) -> tuple[JobDefinition, dict[str, Any] | None]:
    """The job and its run config, checked against each other before the instance is opened,
    so a wrong config leaves no trace: no run record, not even a new database file."""
    from kubedag.cli.code_location_args import load_code_location, load_run_config

    defs = load_code_location(args)
    run_config = load_run_config(args.config) if args.config else None
    job = defs.get_job_def(args.job)
    resolve_run_config(job, run_config)
    return job, run_config


def _create_run(
    args: argparse.Namespace, instance: Any, job: JobDefinition, run_config: dict[str, Any] | None
) -> Any:
    location = code_location_for(
        python_file=args.python_file, module_name=args.module_name, attribute=args.attribute
    )
    run = create_run_for_job(
        instance,
        job,
        code_location=location,
        run_config=run_config,
        tags=dict(args.tag),
        partition_key=args.partition,
    )
    return run


def run_job_launch(args: argparse.Namespace) -> int:
    job, run_config = _job_and_config(args)
    with local_instance() as instance:
        run = _create_run(args, instance, job, run_config)
        submitted = instance.submit_run(run.run_id)
        where = (
            "queued; `kubedag daemon` launches it when the limits allow"
            if submitted.status is RunStatus.QUEUED
            else f"{submitted.status.value.lower()}"
        )
        print(f"Launched run of job '{job.name}': {where}.", file=sys.stderr)
        print(run.run_id)
    return EXIT_OK


def run_job_execute(args: argparse.Namespace) -> int:
    from kubedag.cli.terminal import data_location, progress_printer, terminal_stderr
    from kubedag.execution.run import execute_run

    job, run_config = _job_and_config(args)
    with local_instance() as instance, terminal_stderr() as terminal:
        run = _create_run(args, instance, job, run_config)
        print(f"Executing job '{job.name}' (run {run.run_id}) ...", file=terminal)
        result = execute_run(
            job,
            run,
            instance,
            event_listener=progress_printer(len(job.steps), terminal),
        )
        summary = format_run_summary(
            instance.all_logs(run.run_id),
            run_id=run.run_id,
            data_location=data_location(job, instance),
        )
    sys.stdout.write(summary)
    return EXIT_OK if result.success else EXIT_RUN_FAILED
