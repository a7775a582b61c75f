"""The operator's liveness endpoint (`--liveness URL`, kopf's own) and its Prometheus metrics
page (`--metrics-port PORT`), which the Helm chart's probes and scrapes rely on."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from kubedag.errors import KubedagError
from kubedag_operator import metrics
from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.operator_process import OperatorProcess, http_get, parse_metrics


def test_a_running_operator_answers_liveness_probes_and_serves_metrics(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, tmp_path: Path
) -> None:
    replica = OperatorProcess.start(kubernetes_api, k8s_namespace, tmp_path, "--standalone")
    try:
        status, body = http_get(replica.liveness_url)
        assert status == 200 and json.loads(body) == {}  # no probe handlers: an empty report
        status, text = http_get(replica.metrics_url)
        assert status == 200
        samples = parse_metrics(text)  # every line is a sample or a HELP/TYPE comment
        assert samples["kubedag_operator_up"] == 1
        assert samples["kubedag_operator_active"] == 1  # standalone: always the one that acts
        info = next(name for name in samples if name.startswith("kubedag_operator_info{"))
        assert 'peering=""' in info
        assert samples["process_resident_memory_bytes"] > 10_000_000  # a Python with kopf
        assert "# TYPE kubedag_operator_handler_invocations_total counter" in text
        assert (
            kubernetes_api.get("kopf.dev", "kopfpeerings", k8s_namespace, "kubedag-operator")
            is None
        )
    finally:
        assert replica.terminate() == 0


def test_the_page_is_prometheus_text_with_counts_by_kind_and_outcome() -> None:
    before = metrics.handler_counts().get(("Run", "success"), 0)
    metrics.count("Run", "success")
    metrics.count("Run", "success")
    metrics.count("Schedule", "failure")
    text = metrics.render(
        metrics.operator_metrics(
            active=False,
            identity='pod "a"\\b',
            peering="kubedag-operator",
            priority=7,
            counts=metrics.handler_counts(),
            memory=None,
        )
    )
    samples = parse_metrics(text)
    key = 'kubedag_operator_handler_invocations_total{kind="Run",outcome="success"}'
    assert samples[key] == before + 2
    assert samples["kubedag_operator_active"] == 0
    assert 'identity="pod \\"a\\"\\\\b"' in text  # label values escaped
    assert "process_resident_memory_bytes" not in text  # unknown is left out, not made up
    assert text.endswith("\n")


def test_resident_memory_is_read_from_proc() -> None:
    memory = metrics.resident_memory_bytes()
    assert memory is not None and memory > 0
    assert metrics.resident_memory_bytes("/nonexistent/status") is None


def test_a_busy_metrics_port_is_a_clear_error() -> None:
    async def serve_on_a_busy_port() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]

            async def collect() -> list[metrics.Metric]:
                return []

            async with metrics.serving_metrics(port, collect, host="127.0.0.1"):
                pass

    with pytest.raises(KubedagError, match="--metrics-port"):
        asyncio.run(serve_on_a_busy_port())


def test_reconcile_functions_count_their_outcomes() -> None:
    @metrics.counted("Probe")
    def reconcile(fail: bool) -> str:
        if fail:
            raise RuntimeError("no")
        return "done"

    before = metrics.handler_counts()
    assert reconcile(False) == "done"
    with pytest.raises(RuntimeError):
        reconcile(True)
    with pytest.raises(RuntimeError):
        reconcile(True)
    after = metrics.handler_counts()
    assert after[("Probe", "success")] - before.get(("Probe", "success"), 0) == 1
    assert after[("Probe", "failure")] - before.get(("Probe", "failure"), 0) == 2
