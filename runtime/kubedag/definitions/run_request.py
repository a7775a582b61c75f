"""What schedules and sensors return: requests for runs, reasons to skip, partitions to add.

These are plain values: a schedule or sensor function builds them, the evaluation in
`kubedag.automation` normalizes them, and the daemon turns each `RunRequest` into a run. A
`run_key` is the request's identity: for a sensor, a run key starts at most one run, ever; a
schedule's runs are named by their tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.errors import InvalidDefinitionError


@dataclass(frozen=True)
class RunRequest:
    """Ask for one run. A `run_key` makes the request idempotent for its sensor.

    `job_name` picks one of the sensor's jobs (needed when it has several); `asset_selection`
    restricts an asset job to some of its assets; `partition_key` runs one partition."""

    run_key: str | None = None
    run_config: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    asset_selection: Sequence[AssetKey] | None = None
    partition_key: str | None = None

    def __post_init__(self) -> None:
        if self.run_key is not None and not isinstance(self.run_key, str):
            raise InvalidDefinitionError(
                f"RunRequest.run_key: expected a string, got {self.run_key!r}; use str(...)."
            )
        if self.partition_key is not None and not isinstance(self.partition_key, str):
            raise InvalidDefinitionError(
                f"RunRequest.partition_key: expected a string, got {self.partition_key!r}."
            )
        bad_tags = {k: v for k, v in dict(self.tags or {}).items() if not isinstance(v, str)}
        if bad_tags:
            key, value = next(iter(bad_tags.items()))
            raise InvalidDefinitionError(
                f"RunRequest.tags[{key!r}]: tag values are strings, got {value!r}; use "
                "str(...) or json.dumps(...)."
            )
        object.__setattr__(self, "tags", dict(self.tags or {}))
        if self.asset_selection is not None:
            keys = tuple(to_asset_key(key) for key in self.asset_selection)
            object.__setattr__(self, "asset_selection", keys)


@dataclass(frozen=True)
class SkipReason:
    """Nothing to run this time, and why."""

    skip_message: str | None = None


@dataclass(frozen=True)
class AddDynamicPartitionsRequest:
    """Add keys to a `DynamicPartitionsDefinition` (by its name) when the sensor's result is
    applied, before its run requests become runs."""

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        _check_keys("AddDynamicPartitionsRequest", self.partition_keys)
        object.__setattr__(self, "partition_keys", tuple(self.partition_keys))


@dataclass(frozen=True)
class DeleteDynamicPartitionsRequest:
    """Remove keys from a `DynamicPartitionsDefinition` (by its name)."""

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        _check_keys("DeleteDynamicPartitionsRequest", self.partition_keys)
        object.__setattr__(self, "partition_keys", tuple(self.partition_keys))


DynamicPartitionsRequest = AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest


def _check_keys(owner: str, keys: Sequence[str]) -> None:
    if isinstance(keys, str):
        raise InvalidDefinitionError(
            f"{owner}.partition_keys: expected a list of keys, got the string {keys!r}; "
            f"write [{keys!r}]."
        )
    for key in keys:
        if not isinstance(key, str) or not key:
            raise InvalidDefinitionError(
                f"{owner}.partition_keys: every key is a non-empty string; got {key!r}."
            )


@dataclass(frozen=True)
class SensorResult:
    """Everything a sensor evaluation produced: runs to request (or why none), the new cursor,
    and dynamic partitions to add or delete."""

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: Sequence[DynamicPartitionsRequest] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.skip_reason, str):
            object.__setattr__(self, "skip_reason", SkipReason(self.skip_reason))
        if self.run_requests and self.skip_reason is not None:
            raise InvalidDefinitionError(
                "SensorResult: give run_requests or skip_reason, not both; a result that "
                "requests runs did not skip."
            )
        if self.cursor is not None and not isinstance(self.cursor, str):
            raise InvalidDefinitionError(
                f"SensorResult.cursor: expected a string, got {self.cursor!r}; serialize it "
                "(str(...) or json.dumps(...))."
            )
