"""Execution: plans, step contexts, executors and results (the events they emit are records:
`kubedag.records.events`)."""
