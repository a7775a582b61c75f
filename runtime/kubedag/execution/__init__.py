"""Execution: plans, step contexts, executors, events and results."""
