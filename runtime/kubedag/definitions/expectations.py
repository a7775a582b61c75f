"""`ExpectationResult`: an op's own data-quality verdict, recorded in the event log.

An op yields `ExpectationResult(success, label, description, metadata)` next to its outputs;
the step records a STEP_EXPECTATION_RESULT event carrying it and goes on (a failed expectation
does not fail the step). The reference deprecates it in favour of asset checks
(`AssetCheckResult`), and so does kubedag for assets; ops outside asset graphs still use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.metadata import normalized as normalize_metadata


@dataclass(frozen=True, slots=True, init=False)
class ExpectationResult:
    """Whether an expectation on the data held (`success`), named by `label`."""

    success: bool
    label: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        success: bool,
        label: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(success, bool):
            raise TypeError(f"ExpectationResult: success must be a bool; got {success!r}.")
        object.__setattr__(self, "success", success)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "metadata", normalize_metadata(metadata))
