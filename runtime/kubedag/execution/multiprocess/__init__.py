"""The multiprocess executor: one child process per step, started from the run's process.

Why this shape: the reference starts every step in a fresh interpreter that imports the code
location again, about a second per step. Here, by default (`start_method: fork`, the default on
Linux), each child is forked from the run process, which already holds the job, its run config
and the plan: nothing is imported again, and a step costs a fork, its own work and an exit.
`forkserver` and `spawn` start a clean interpreter instead, which loads the run's code location
(`Run.code_location`) and opens the instance from its reference: slower, but safe for libraries
that do not survive a fork. A child never writes to the event log: it sends every entry to the
parent over a pipe, and the parent stores them, so the database sees one writer per run.

The executor definition, `multiprocess_executor`, is in `definition` (choosing an executor
imports it and `config`, not the rest of this package). Nothing is re-exported here: importing
the package imports none of its modules.

Outputs pass between processes through I/O managers, so this executor requires persistent ones
(`ExecutorRequirement.PERSISTENT_OUTPUTS`); with the in-memory I/O manager the run fails before
it starts, naming `io_manager` (`kubedag.execution.executor_selection`).

One idea a module:
- `definition`: `multiprocess_executor`, what a job names.
- `config`: the options, checked (`parse_multiprocess_config`, `MultiprocessConfig`).
- `scheduling`: which ready steps may start now (`steps_to_start`), a pure decision.
- `frames`: the message format on a child's pipe to its parent.
- `child`: what runs in a step's process.
- `processes`: the parent's handles on step processes (bare fork and pidfd, signals, exits).
- `executor`: `MultiprocessExecutor` and the parent's loop.
"""
