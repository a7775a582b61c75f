"""The result of checking a value against a Dagster type, and what a check function is given.

A type check function takes `(context, value)` and returns a bool or a `TypeCheck`, which can
also say why the value failed (`description`) and attach metadata to the event that records the
check. The context gives the run id, a logger and the run's resources.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple


class _TypeCheckFields(NamedTuple):
    success: bool
    description: str | None
    metadata: Mapping[str, Any]


class TypeCheck(_TypeCheckFields):
    """What a type check found: `success`, and optionally a `description` and `metadata`."""

    __slots__ = ()

    def __new__(
        cls,
        success: bool,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TypeCheck:
        if not isinstance(success, bool):
            raise TypeError(
                f"TypeCheck: success must be a bool; got {success!r} of type "
                f"{type(success).__name__}."
            )
        if description is not None and not isinstance(description, str):
            raise TypeError(
                f"TypeCheck: description must be a str or None; got {type(description).__name__}."
            )
        return super().__new__(cls, success, description, dict(metadata or {}))


class TypeCheckContext:
    """What a type check function gets as `context`: the run id, a logger and the resources."""

    def __init__(self, run_id: str, log: Any, resources: Any) -> None:
        self._run_id = run_id
        self._log = log
        self._resources = resources

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def log(self) -> Any:
        return self._log

    @property
    def resources(self) -> Any:
        return self._resources

    @staticmethod
    def ephemeral() -> TypeCheckContext:
        """A context outside any run, for `check_dagster_type`: no resources."""
        return TypeCheckContext("EPHEMERAL", logging.getLogger("kubedag"), _NoResources())


class _NoResources:
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"No resource '{name}': a type checked outside a run (check_dagster_type) has no "
            "resources."
        )

    def __repr__(self) -> str:
        return "Resources()"
