"""The `kubedag` command line: `kubedag.cli.main:main` is the console script.

`main` builds the parser and runs `materialize` and `list`; the other commands live with their
formatters, one module per group: `runs`, `assets`, `logs`, `instance_cmd` (which also opens the
local instance for every command). What they print is built by pure functions: `summary` (a
run's outcome, from its event log), `listing` (what a code location defines) and `tables`
(columns, times, JSON). `exit_codes` holds the exit codes and the error that means "exit 2".
"""
