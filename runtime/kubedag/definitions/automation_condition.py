"""Declarative automation conditions attached to assets (`AutomationCondition.eager()`).

A condition is a small expression tree of named rules; the automation evaluator
(`kubedag.automation.conditions`) walks it for each asset (and partition) against the event log,
the runs in progress and its own memory of what it already requested. Three rules cover most
needs:

- `eager()`: materialize when any upstream asset was materialized since this one was last
  materialized or requested (or when it is missing and its upstreams exist), never while it or
  an upstream is being materialized;
- `on_cron(cron, tz)`: once per cron tick, as soon as every upstream was materialized after
  that tick;
- `on_missing()`: once, when the asset (partition) has never been materialized and its
  upstreams exist.

The building blocks (`missing()`, `in_progress()`, `any_deps_updated()`, `any_deps_missing()`,
`any_deps_in_progress()`) combine with `&`, `|` and `~`.
"""

from __future__ import annotations

from dataclasses import dataclass

_OPERATORS = {"and": " & ", "or": " | "}


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
        from kubedag.definitions.schedules import check_cron, check_timezone

        check_cron(cron_schedule, "AutomationCondition.on_cron")
        check_timezone(cron_timezone, "AutomationCondition.on_cron", "cron_timezone")
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
    def any_deps_missing() -> AutomationCondition:
        return AutomationCondition("any_deps_missing")

    @staticmethod
    def any_deps_in_progress() -> AutomationCondition:
        return AutomationCondition("any_deps_in_progress")

    @staticmethod
    def in_progress() -> AutomationCondition:
        return AutomationCondition("in_progress")

    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        return AutomationCondition("and", (self, other))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        return AutomationCondition("or", (self, other))

    def __invert__(self) -> AutomationCondition:
        return AutomationCondition("not", (self,))

    @property
    def label(self) -> str:
        """How the condition reads in ticks and on the command line: `eager`,
        `on_cron(0 * * * *, UTC)`, `missing & ~in_progress`."""
        if self.name in _OPERATORS:
            inner = _OPERATORS[self.name].join(_nested(o) for o in self.operands)
            return inner
        if self.name == "not":
            return f"~{_nested(self.operands[0])}"
        if self.name == "on_cron":
            return f"on_cron({self.cron_schedule}, {self.cron_timezone})"
        return self.name


def _nested(condition: AutomationCondition) -> str:
    text = condition.label
    return f"({text})" if condition.name in _OPERATORS else text
