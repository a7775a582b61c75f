"""`kubedag logs`: what a run's steps printed, as the compute log manager captured it.

Each step's stdout and stderr (its own prints, its logger's console lines, and the output of
programs it ran) are stored per step by the instance's compute log manager, apart from the
structured event log. This command copies them to stdout as raw bytes, unchanged: one step
(`--step`), or every step in the order the steps started (STEP_START events), each under a
`== step KEY (stdout) ==` header.

`--follow` tails a run that is still going, the way `tail -f` does: it polls every step's log
from the offset it has read up to, picks up steps as they start, and stops once the run has
finished and one more pass over every log finds nothing new (output written just before the run
ended is still read). Polling is the only option: a log may be a file on another machine's volume
or an object in S3, so there is nothing to be woken by.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from kubedag.cli.exit_codes import EXIT_OK, UsageError
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.runs import MIN_PREFIX, find_run_record
from kubedag.compute_logs.manager import IoType
from kubedag.instance.instance import Instance
from kubedag.records.events import EventLogEntry, EventType

POLL_INTERVAL_SECONDS = 0.2


# -- pure parts --------------------------------------------------------------------------------
def step_header(step_key: str, io_type: IoType) -> bytes:
    return f"== step {step_key} ({io_type}) ==\n".encode()


def steps_in_start_order(entries: Iterable[EventLogEntry]) -> list[str]:
    """Step keys in the order of their first STEP_START."""
    order: dict[str, None] = {}
    for entry in entries:
        event = entry.event
        if event is not None and event.event_type is EventType.STEP_START and event.step_key:
            order.setdefault(event.step_key, None)
    return list(order)


def merge_steps(started: Sequence[str], logged: Iterable[str]) -> list[str]:
    """Started steps in start order, then steps that only have logs (sorted)."""
    return list(dict.fromkeys([*started, *sorted(logged)]))


def unknown_step_message(run_id: str, step_key: str, steps: Sequence[str]) -> str:
    known = ", ".join(steps) if steps else "none yet"
    return f"run {run_id} has no step {step_key!r}; its steps: {known}."


@dataclass
class LogOutput:
    """Bytes to the terminal, with a header line each time the output switches to another step
    (when `headers` is on), and a newline before a header if a step's output did not end with
    one."""

    out: BinaryIO
    io_type: IoType
    headers: bool
    _current: str | None = field(default=None, init=False)
    _at_line_start: bool = field(default=True, init=False)

    def write(self, step_key: str, data: bytes, *, header_if_empty: bool = False) -> None:
        if self.headers and step_key != self._current and (data or header_if_empty):
            if not self._at_line_start:
                self.out.write(b"\n")
            self.out.write(step_header(step_key, self.io_type))
            self._current = step_key
            self._at_line_start = True
        if data:
            self.out.write(data)
            self._at_line_start = data.endswith(b"\n")


# -- reading the instance ------------------------------------------------------------------------
def run_steps(instance: Instance, run_id: str) -> tuple[list[str], set[str]]:
    """The steps to print in order (started ones, then any others with logs), and every step
    key the run knows (events of any kind, logs)."""
    entries = instance.all_logs(run_id)
    logged = instance.compute_log_manager.list_steps(run_id)
    known = {e.step_key for e in entries if e.step_key} | set(logged)
    return merge_steps(steps_in_start_order(entries), logged), known


def print_logs(instance: Instance, run_id: str, steps: Sequence[str], output: LogOutput) -> None:
    """Everything each step has written so far, step after step."""
    for step_key in steps:
        chunk = instance.compute_log_manager.read(run_id, step_key, output.io_type)
        output.write(step_key, chunk.data, header_if_empty=True)
    output.out.flush()


def follow_logs(
    instance: Instance,
    run_id: str,
    step_key: str | None,
    output: LogOutput,
    *,
    poll_interval: float = POLL_INTERVAL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print new bytes of the run's step logs (one step, or all as they start) until the run has
    finished and a final pass reads nothing."""
    manager = instance.compute_log_manager
    offsets: dict[str, int] = {}
    order: dict[str, None] = {}
    cursor: int | None = None
    while True:
        run = instance.get_run_by_id(run_id)
        finished = run is None or run.is_finished  # read before the logs: nothing is missed
        for record in instance.get_records_for_run(run_id, cursor, of_type=EventType.STEP_START):
            cursor = record.storage_id
            if record.event_log_entry.step_key:
                order.setdefault(record.event_log_entry.step_key, None)
        if finished:
            for logged in manager.list_steps(run_id):
                order.setdefault(logged, None)
        wrote = False
        for key in [step_key] if step_key is not None else list(order):
            chunk = manager.read(run_id, key, output.io_type, offsets.get(key, 0))
            if chunk.data:
                output.write(key, chunk.data)
                offsets[key] = chunk.next_offset
                wrote = True
        output.out.flush()
        if finished and not wrote:
            return
        if not wrote:
            sleep(poll_interval)  # the logs may be files elsewhere or S3 objects: poll


# -- command -----------------------------------------------------------------------------------
def add_logs_command(commands: Any) -> None:
    """`kubedag logs` under `commands` (an argparse subparsers action)."""
    logs = commands.add_parser(
        "logs",
        help="what a run's steps printed (stdout, or stderr)",
        description=(
            "Print the captured stdout (or --stderr) of a run's steps: of one step (--step), or "
            "of every step in the order they started, each under a '== step KEY (stdout) ==' "
            "header. Output of programs the steps ran is included. With --follow, keep printing "
            "as a running run's steps write, until the run ends."
        ),
    )
    logs.add_argument(
        "run_id",
        metavar="RUN_ID",
        help=f"the run's id, or a unique prefix of it (at least {MIN_PREFIX} characters)",
    )
    logs.add_argument("--step", metavar="KEY", help="only this step (no header)")
    logs.add_argument(
        "--stderr", action="store_true", help="print standard error instead of standard output"
    )
    logs.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new output until the run has finished",
    )
    logs.set_defaults(handler=run_logs)


def run_logs(args: argparse.Namespace) -> int:
    io_type: IoType = "stderr" if args.stderr else "stdout"
    sys.stdout.flush()
    output = LogOutput(sys.stdout.buffer, io_type, headers=args.step is None)
    with local_instance() as instance:
        record = find_run_record(instance, args.run_id)
        run_id = record.run.run_id
        steps, known = run_steps(instance, run_id)
        waiting = args.follow and not record.run.is_finished
        if args.step is not None and args.step not in known and not waiting:
            raise UsageError(unknown_step_message(run_id, args.step, steps))
        if args.follow:
            follow_logs(instance, run_id, args.step, output)
            if args.step is not None and args.step not in known:
                steps, known = run_steps(instance, run_id)  # the run has ended: ask again
                if args.step not in known:
                    raise UsageError(unknown_step_message(run_id, args.step, steps))
        elif args.step is not None:
            print_logs(instance, run_id, [args.step], output)
        elif steps:
            print_logs(instance, run_id, steps, output)
        else:
            print(f"Run {run_id} has no step logs.", file=sys.stderr)
    return EXIT_OK
