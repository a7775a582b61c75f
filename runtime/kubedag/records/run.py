"""The run record: what was asked to run, with which config, and where it stands.

The record in run storage is the source of truth for a run's status; everything else (the
`Run` custom resource, the CLI) mirrors it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class RunStatus(Enum):
    """Where a run stands. The terminal ones are SUCCESS, FAILURE and CANCELED."""

    QUEUED = "QUEUED"
    NOT_STARTED = "NOT_STARTED"
    MANAGED = "MANAGED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})


def new_run_id() -> str:
    """A random (version 4) UUID, built here because importing `uuid` costs more than this."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class Run:
    """One run of a job: identity, inputs and current status."""

    job_name: str
    run_id: str = field(default_factory=new_run_id)
    run_config: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.NOT_STARTED
    tags: dict[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None
    root_run_id: str | None = None
    asset_selection: frozenset[Any] | None = None
    asset_check_selection: frozenset[Any] | None = None
    step_keys_to_execute: tuple[str, ...] | None = None
    partition: str | None = None
    code_location: dict[str, Any] | None = None

    @property
    def is_finished(self) -> bool:
        return self.status.is_finished

    @property
    def is_success(self) -> bool:
        return self.status is RunStatus.SUCCESS

    @property
    def is_failure(self) -> bool:
        return self.status is RunStatus.FAILURE

    def with_status(self, status: RunStatus) -> Run:
        return replace(self, status=status)

    def get_tag(self, key: str) -> str | None:
        return self.tags.get(key)
