"""Running the kubedag operator in tests: kopf in a thread of the test process, against the
emulated Kubernetes API (`tests/fixtures/kubernetes.py`), watching one namespace, with every
handler of `kubedag_operator.handlers` loaded.

    def test_something(operator_runner, k8s_namespace):
        operator = operator_runner(k8s_namespace)        # started and ready
        ...                                              # create objects, poll their status
        operator.stop(); operator_runner(k8s_namespace)  # a restart

Each runner stops at the end of the test. `KUBECONFIG` points at the emulator for the test, so
kopf, the operator's client and the Kubernetes run launcher all talk to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedag_operator.running import OperatorThread
from kubedag_operator.state import OperatorOptions
from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.cluster import cluster  # noqa: F401  (the `cluster` fixture)


class OperatorRunner:
    """Starts operators for one test: `runner(namespace, **options)`; `stop_all()` stops the
    ones still running (a restart is `stop_all()` and a new `runner(namespace)`)."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.kubeconfig, self.home = kubeconfig, home
        self.started: list[OperatorThread] = []

    def __call__(self, namespace: str, **options: Any) -> OperatorThread:
        settings: dict[str, Any] = {
            "namespaces": (namespace,),
            "standalone": True,
            "resync_seconds": 0.2,
            "kubeconfig_file": str(self.kubeconfig),
            "home": str(self.home / f"operator-{len(self.started)}"),
            **options,
        }
        operator = OperatorThread(OperatorOptions(**settings))
        self.started.append(operator)
        return operator.start()

    def stop_all(self) -> None:
        for operator in reversed(self.started):
            if not operator.stop_flag.is_set():
                operator.stop()


@pytest.fixture
def operator_runner(
    kubernetes_api: KubernetesHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OperatorRunner]:
    """An `OperatorRunner`: `operator_runner(namespace, **options)` starts an operator watching
    `namespace` (standalone unless `standalone=False`; Runs re-checked every 0.2 s) and returns
    it once kopf is ready. Options are `OperatorOptions` fields. All stop after the test."""
    monkeypatch.setenv("KUBECONFIG", str(kubernetes_api.kubeconfig))
    runner = OperatorRunner(kubernetes_api.kubeconfig, tmp_path)
    yield runner
    with contextlib.suppress(Exception):
        runner.stop_all()
