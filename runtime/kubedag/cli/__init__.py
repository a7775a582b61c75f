"""The `kubedag` command line: `kubedag.cli.main:main` is the console script.

Commands live in `main`; what they print is built by the pure formatters in `summary` (a run's
outcome, from its event log) and `listing` (what a code location defines).
"""
