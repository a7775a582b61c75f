"""Compute logs: the raw stdout and stderr of each step, captured and kept per run.

`ComputeLogManager` is the interface; `NoOpComputeLogManager`, `LocalComputeLogManager` and
`S3ComputeLogManager` are the implementations an instance is configured with. None of them
imports boto3 until it is used.
"""

from __future__ import annotations

from kubedag.compute_logs.capture import FdCapture
from kubedag.compute_logs.local import LocalComputeLogManager
from kubedag.compute_logs.manager import (
    ComputeLogManager,
    ComputeLogStorageError,
    IoType,
    LogChunk,
)
from kubedag.compute_logs.noop import NoOpComputeLogManager
from kubedag.compute_logs.s3 import S3ComputeLogManager

__all__ = [
    "ComputeLogManager",
    "ComputeLogStorageError",
    "FdCapture",
    "IoType",
    "LocalComputeLogManager",
    "LogChunk",
    "NoOpComputeLogManager",
    "S3ComputeLogManager",
]
