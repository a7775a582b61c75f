"""The instance configuration's run_coordinator, run_launcher and run_monitoring."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import InstanceConfigError
from kubedag.runs.coordinators import DefaultRunCoordinator, QueuedRunCoordinator, RunCoordinator
from kubedag.runs.launchers.base import LaunchRunContext, RunLauncher
from kubedag.runs.launchers.local_process import LocalProcessRunLauncher
from kubedag.runs.monitoring_settings import RunMonitoringSettings
from kubedag.runs.queue import QueueLimits, TagConcurrencyLimit


def build(document: dict[str, object], tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_config({"storage": {"in_memory": {}}, **document}, home=str(tmp_path))


def test_defaults(tmp_path: Path) -> None:
    with build({}, tmp_path) as instance:
        assert isinstance(instance.run_coordinator, DefaultRunCoordinator)
        assert isinstance(instance.run_launcher, LocalProcessRunLauncher)
        assert instance.run_launcher.grace_period_seconds == 10.0
        assert instance.run_monitoring == RunMonitoringSettings()
    with dg.Instance.ephemeral() as ephemeral:
        assert isinstance(ephemeral.run_coordinator, DefaultRunCoordinator)
        assert ephemeral.run_coordinator.instance is ephemeral


def test_the_queued_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_SIZE", "4")
    document = {
        "run_coordinator": {
            "queued": {
                "max_concurrent_runs": {"env": "QUEUE_SIZE"},
                "tag_concurrency_limits": [
                    {"key": "db", "value": "warehouse", "limit": 1},
                    {"key": "team", "limit": 2},
                    {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
                ],
                "dequeue_interval_seconds": 0.5,
            }
        },
        "run_launcher": {"local_process": {"grace_period_seconds": 3}},
        "run_monitoring": {"start_timeout_seconds": 60, "max_resume_run_attempts": 1},
    }
    with build(document, tmp_path) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        assert coordinator.limits == QueueLimits(
            4,
            (
                TagConcurrencyLimit("db", 1, "warehouse"),
                TagConcurrencyLimit("team", 2),
                TagConcurrencyLimit("tenant", 1, per_unique_value=True),
            ),
        )
        assert coordinator.dequeue_interval_seconds == 0.5
        assert instance.run_launcher.grace_period_seconds == 3.0  # type: ignore[attr-defined]
        settings = instance.run_monitoring
        assert settings.start_timeout_seconds == 60 and settings.max_resume_run_attempts == 1
        assert settings.cancel_timeout_seconds == RunMonitoringSettings().cancel_timeout_seconds
    with build({"run_coordinator": {"queued": {}}}, tmp_path) as instance:
        assert instance.run_coordinator.limits == QueueLimits(10)  # type: ignore[attr-defined]
    with build({"run_coordinator": {"default": {}}}, tmp_path) as instance:
        assert isinstance(instance.run_coordinator, DefaultRunCoordinator)


class CountingCoordinator(RunCoordinator):
    def __init__(self, label: str) -> None:
        self.label = label

    def submit_run(self, context: object) -> dg.Run:
        raise NotImplementedError


class NamedLauncher(RunLauncher):
    def __init__(self, name: str = "x") -> None:
        self.name = name

    def launch_run(self, context: LaunchRunContext) -> None:
        raise NotImplementedError

    def terminate(self, run_id: str) -> bool:
        return False


def test_the_plugin_forms(tmp_path: Path) -> None:
    document = {
        "run_coordinator": {
            "module": __name__,
            "class": "CountingCoordinator",
            "config": {"label": "mine"},
        },
        "run_launcher": {"module": __name__, "class": "NamedLauncher", "config": {"name": "y"}},
    }
    with build(document, tmp_path) as instance:
        assert isinstance(instance.run_coordinator, CountingCoordinator)
        assert instance.run_coordinator.label == "mine"
        assert instance.run_coordinator.instance is instance
        assert isinstance(instance.run_launcher, NamedLauncher)
        assert instance.run_launcher.instance is instance
    wrong = {"run_launcher": {"module": __name__, "class": "CountingCoordinator"}}
    with pytest.raises(InstanceConfigError, match="is not a RunLauncher; subclass"):
        build(wrong, tmp_path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"run_coordinator": {"queue": {}}},
            "run_coordinator: expected {default: {...}} or {queued: {...}}, or the plugin form",
        ),
        (
            {"run_coordinator": {"queued": {"max_concurrent": 2}}},
            "run_coordinator.queued.max_concurrent: unknown key; expected one of: "
            "dequeue_interval_seconds, max_concurrent_runs, tag_concurrency_limits.",
        ),
        (
            {"run_coordinator": {"queued": {"max_concurrent_runs": -2}}},
            "run_coordinator.queued.max_concurrent_runs: -2 is not allowed; use -1 for no limit",
        ),
        (
            {"run_coordinator": {"queued": {"max_concurrent_runs": "ten"}}},
            "run_coordinator.queued.max_concurrent_runs: expected an integer; got 'ten'.",
        ),
        (
            {"run_coordinator": {"queued": {"tag_concurrency_limits": [{"key": "db"}]}}},
            "run_coordinator.queued.tag_concurrency_limits[0].limit: is required.",
        ),
        (
            {"run_coordinator": {"queued": {"tag_concurrency_limits": ["db"]}}},
            "run_coordinator.queued.tag_concurrency_limits[0]: expected a mapping {key, value, "
            "limit}; got 'db'.",
        ),
        (
            {
                "run_coordinator": {
                    "queued": {
                        "tag_concurrency_limits": [
                            {"key": "db", "limit": 1, "value": {"perValue": True}}
                        ]
                    }
                }
            },
            "tag_concurrency_limits[0].value: expected a string (the tag value the limit "
            "applies to) or {applyLimitPerUniqueValue: true}",
        ),
        (
            {"run_coordinator": {"queued": {"tag_concurrency_limits": {"key": "db"}}}},
            "run_coordinator.queued.tag_concurrency_limits: expected a list; got",
        ),
        (
            {"run_launcher": {"local": {}}},
            "run_launcher: expected {local_process: {...}} or {kubernetes: {...}}, or the plugin "
            "form",
        ),
        (
            {"run_launcher": {"local_process": {"grace_period_seconds": -1}}},
            "run_launcher.local_process.grace_period_seconds: must be 0 or more; got -1.",
        ),
        (
            {"run_monitoring": {"start_timeout": 10}},
            "run_monitoring.start_timeout: unknown key; expected one of: cancel_timeout_seconds",
        ),
        (
            {"run_monitoring": {"enabled": "yes"}},
            "run_monitoring.enabled: expected true or false; got 'yes'.",
        ),
        (
            {"run_monitoring": {"poll_interval_seconds": 0}},
            "run_monitoring.poll_interval_seconds: must be above 0; got 0.",
        ),
        ({"run_monitoring": [1]}, "run_monitoring: expected a mapping of"),
    ],
)
def test_mistakes_name_the_key_and_the_fix(
    document: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(InstanceConfigError) as raised:
        build(document, tmp_path)
    assert message in str(raised.value)
    assert str(raised.value).startswith("instance config: ")


def test_env_references_must_hold_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTEMPTS", "many")
    with pytest.raises(
        InstanceConfigError,
        match=r"run_monitoring.max_resume_run_attempts: expected an integer; got 'many'",
    ):
        build({"run_monitoring": {"max_resume_run_attempts": {"env": "ATTEMPTS"}}}, tmp_path)
