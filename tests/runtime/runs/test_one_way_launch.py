"""`Instance.launch_run`, `terminate_run` and `resume_run` go down into `runs/` and on to the
storages and the launcher: nothing in `runs/` calls back into the `Instance` (docs/architecture.md,
"Import order"). Every `Instance` method that merely wraps a storage fails the test if called
while the instance launches, cancels or resumes a run."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubedag as dg
from kubedag.runs.launchers.base import LaunchRunContext, ResumeRunContext, RunLauncher
from tests.runtime.runs.conftest import InstanceFactory, create_run, event_types

# What an Instance offers over its storages; runs/ must use the storages themselves.
STORAGE_WRAPPERS = (
    "get_run_by_id",
    "get_run_record_by_id",
    "get_run_records",
    "add_run_tags",
    "store_event_entry",
    "store_event_entries",
    "get_records_for_run",
    "kvs_get",
    "kvs_set",
    "update_run_status",
)


class RecordingLauncher(RunLauncher):
    """Starts nothing: records what it was asked, so the test sees the launch arrive."""

    def __init__(self) -> None:
        self.launched: list[str] = []
        self.resumed: list[tuple[str, int]] = []
        self.terminated: list[str] = []

    def launch_run(self, context: LaunchRunContext) -> None:
        self.launched.append(context.run.run_id)

    @property
    def supports_resume_run(self) -> bool:
        return True

    def resume_run(self, context: ResumeRunContext) -> None:
        self.resumed.append((context.run.run_id, context.resume_attempt))

    def terminate(self, run_id: str) -> bool:
        self.terminated.append(run_id)
        return True


def _forbid_storage_wrappers(instance: dg.Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STORAGE_WRAPPERS:

        def called(*args: object, _name: str = name, **kwargs: object) -> None:
            raise AssertionError(f"runs/ called back into Instance.{_name}")

        monkeypatch.setattr(instance, name, called)


def test_launch_resume_and_cancel_never_call_back_into_the_instance(
    make_sqlite_instance: InstanceFactory, job_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = make_sqlite_instance(
        run_launcher={"module": __name__, "class": "RecordingLauncher"},
        run_monitoring={"enabled": False},
    )
    run = create_run(instance, job_file)
    launcher = instance.run_launcher
    assert isinstance(launcher, RecordingLauncher)

    with monkeypatch.context() as patched:
        _forbid_storage_wrappers(instance, patched)
        launched = instance.launch_run(run.run_id)
    assert launched.status is dg.RunStatus.STARTING
    assert launcher.launched == [run.run_id]

    # As a worker would: the run starts, then its worker dies and the monitor resumes it.
    instance.run_storage.try_update_run_status(run.run_id, dg.RunStatus.STARTED)
    with monkeypatch.context() as patched:
        _forbid_storage_wrappers(instance, patched)
        resumed = instance.resume_run(run.run_id)
        canceled = instance.terminate_run(run.run_id)
    assert launcher.resumed == [(run.run_id, 1)]
    assert resumed.tags["kubedag/resume_attempts"] == "1"
    assert canceled is True
    assert launcher.terminated == [run.run_id]
    current = instance.run_storage.get_run_by_id(run.run_id)
    assert current is not None and current.status is dg.RunStatus.CANCELING
    assert event_types(instance, run.run_id)[-3:] == [
        "RUN_STARTING",
        "ENGINE_EVENT",
        "RUN_CANCELING",
    ]
