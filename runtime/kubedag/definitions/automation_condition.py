"""Declarative automation conditions attached to assets (`AutomationCondition.eager()`).

A condition is a small expression tree; the automation evaluator walks it against the event log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AutomationCondition:
    """A named rule, possibly combining others with `&`, `|` and `~`."""

    name: str
    operands: tuple[AutomationCondition, ...] = ()
    cron_schedule: str | None = None
    cron_timezone: str = "UTC"

    @staticmethod
    def eager() -> AutomationCondition:
        return AutomationCondition("eager")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        return AutomationCondition(
            "on_cron", cron_schedule=cron_schedule, cron_timezone=cron_timezone
        )

    @staticmethod
    def on_missing() -> AutomationCondition:
        return AutomationCondition("on_missing")

    @staticmethod
    def missing() -> AutomationCondition:
        return AutomationCondition("missing")

    @staticmethod
    def any_deps_updated() -> AutomationCondition:
        return AutomationCondition("any_deps_updated")

    @staticmethod
    def in_progress() -> AutomationCondition:
        return AutomationCondition("in_progress")

    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        return AutomationCondition("and", (self, other))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        return AutomationCondition("or", (self, other))

    def __invert__(self) -> AutomationCondition:
        return AutomationCondition("not", (self,))
