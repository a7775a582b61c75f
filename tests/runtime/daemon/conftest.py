"""The daemon launches the same runs as tests/runtime/runs: share its code location fixture."""

from tests.runtime.runs.conftest import job_file

__all__ = ["job_file"]
