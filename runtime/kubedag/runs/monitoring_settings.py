"""`RunMonitoringSettings`: the instance configuration's `run_monitoring` part, as values.

Apart from the monitor (`runs/monitoring.py`) so that what reads the settings — the instance,
the run worker's heartbeat — does not import the monitor and everything it acts with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunMonitoringSettings:
    """The instance configuration's `run_monitoring` (every key optional)."""

    enabled: bool = True
    start_timeout_seconds: float = 180.0  # STARTING longer than this fails (0: never)
    cancel_timeout_seconds: float = 180.0  # CANCELING longer than this is CANCELED (0: never)
    max_resume_run_attempts: int = 0  # new workers for a STARTED run whose worker died
    poll_interval_seconds: float = 30.0  # how often the daemon's monitor looks
    heartbeat_interval_seconds: float = 5.0  # how often a run worker writes its heartbeat
    heartbeat_timeout_seconds: float = 60.0  # a heartbeat older than this: the worker is gone

    @staticmethod
    def from_config(values: Mapping[str, Any]) -> RunMonitoringSettings:
        """From checked, resolved configuration values (`kubedag.instance.config`)."""
        defaults = RunMonitoringSettings()
        return RunMonitoringSettings(
            enabled=bool(values.get("enabled", defaults.enabled)),
            start_timeout_seconds=float(
                values.get("start_timeout_seconds", defaults.start_timeout_seconds)
            ),
            cancel_timeout_seconds=float(
                values.get("cancel_timeout_seconds", defaults.cancel_timeout_seconds)
            ),
            max_resume_run_attempts=int(
                values.get("max_resume_run_attempts", defaults.max_resume_run_attempts)
            ),
            poll_interval_seconds=float(
                values.get("poll_interval_seconds", defaults.poll_interval_seconds)
            ),
            heartbeat_interval_seconds=float(
                values.get("heartbeat_interval_seconds", defaults.heartbeat_interval_seconds)
            ),
            heartbeat_timeout_seconds=float(
                values.get("heartbeat_timeout_seconds", defaults.heartbeat_timeout_seconds)
            ),
        )
