"""What schedules and sensors return: requests for runs, or reasons to skip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunRequest:
    """Ask for one run. A `run_key` makes the request idempotent for its sensor."""

    run_key: str | None = None
    run_config: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    asset_selection: Sequence[Any] | None = None
    partition_key: str | None = None


@dataclass(frozen=True)
class SkipReason:
    """Nothing to run this time, and why."""

    skip_message: str | None = None


@dataclass(frozen=True)
class SensorResult:
    """Everything a sensor evaluation produced."""

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: Sequence[Any] | None = None
