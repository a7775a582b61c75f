"""Schedule handlers on the emulated API: one Run per due tick, exactly once, across restarts.

Time is driven by the test-only clock (`reconcile_schedule(..., now)` directly, and the
environment variable `KUBEDAG_OPERATOR_NOW` for a running operator), so hours of ticks take no
real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kopf
import pytest

from kubedag_operator.code_location_objects import CODE_SERVER_URL_ANNOTATION
from kubedag_operator.handlers import schedule as schedule_handlers
from kubedag_operator.handlers.schedule import NOW_ENV, reconcile_schedule
from kubedag_operator.kube import KubeApi
from kubedag_operator.state import OperatorOptions, OperatorState
from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.test_handlers_code_location import (
    create_location,
    kube,  # noqa: F401 (fixture)
    ready,
    running_operator,
    wait_for,
)

# Ticks in the future of the objects' creation time: the first evaluation sees them due.
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)


def at(hours: float, minutes: float = 0) -> datetime:
    return BASE + timedelta(hours=hours, minutes=minutes)


def create_schedule(
    harness: KubernetesHarness, namespace: str, name: str = "hourly", **spec: Any
) -> dict[str, Any]:
    body = {
        "apiVersion": "kubedag.io/v1alpha1",
        "kind": "Schedule",
        "metadata": {"name": name},
        "spec": {"cron": ["0 * * * *"], "jobRef": {"name": "orders"}, **spec},
    }
    return harness.create("kubedag.io", "schedules", namespace, body)


def create_job(harness: KubernetesHarness, namespace: str, job_name: str = "orders_job") -> None:
    harness.create(
        "kubedag.io",
        "jobs",
        namespace,
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Job",
            "metadata": {"name": "orders"},
            "spec": {"codeLocationRef": {"name": "sales"}, "jobName": job_name},
        },
    )


def get_schedule(
    harness: KubernetesHarness, namespace: str, name: str = "hourly"
) -> dict[str, Any]:
    found = harness.get("kubedag.io", "schedules", namespace, name)
    assert found is not None
    return found


def run_names(harness: KubernetesHarness, namespace: str) -> list[str]:
    return sorted(run["metadata"]["name"] for run in harness.list("kubedag.io", "runs", namespace))


def tick_run(tick: datetime, schedule: str = "hourly") -> str:
    return f"{schedule}-{int(tick.timestamp())}"


def set_phase(kube: KubeApi, namespace: str, run: str, phase: str) -> None:  # noqa: F811
    kube.patch_custom_status("runs", namespace, run, {"phase": phase})


def evaluate(
    harness: KubernetesHarness,
    kube: KubeApi,  # noqa: F811
    namespace: str,
    now: datetime,
    name: str = "hourly",
) -> dict[str, Any]:
    return reconcile_schedule(kube, get_schedule(harness, namespace, name), now)


def test_each_due_tick_creates_one_run_with_the_schedules_settings(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    schedule = create_schedule(
        kubernetes_api,
        k8s_namespace,
        runConfig={"ops": {"a": {"config": {"x": 1}}}},
        tags={"team": "data"},
        partitionSelection={"mode": "Key", "key": "eu"},
    )
    status = evaluate(kubernetes_api, kube, k8s_namespace, at(0, 1))
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(0))]
    run = kubernetes_api.get("kubedag.io", "runs", k8s_namespace, tick_run(at(0)))
    assert run is not None
    assert run["spec"]["jobRef"] == {"name": "orders"}
    assert run["spec"]["runConfig"] == {"ops": {"a": {"config": {"x": 1}}}}
    assert run["spec"]["partition"] == "eu"
    tags = run["spec"]["tags"]
    assert tags["team"] == "data" and tags["kubedag.io/schedule"] == "hourly"
    assert datetime.fromisoformat(tags["kubedag.io/scheduled-time"]) == at(0)
    owner = run["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Schedule" and owner["uid"] == schedule["metadata"]["uid"]
    assert status["lastScheduleTime"] == at(0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["nextScheduleTime"] == at(1).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["active"] == [{"name": tick_run(at(0))}]
    assert ready(get_schedule(kubernetes_api, k8s_namespace))["reason"] == "Scheduled"

    # The same moment again, and a lost cursor (a crash after creating the Run): no double.
    evaluate(kubernetes_api, kube, k8s_namespace, at(0, 2))
    kube._call(
        "PATCH",
        f"/apis/kubedag.io/v1alpha1/namespaces/{k8s_namespace}/schedules/hourly",
        {"metadata": {"annotations": {"kubedag.io/last-tick": None}}},
        "application/merge-patch+json",
    )
    evaluate(kubernetes_api, kube, k8s_namespace, at(0, 3))
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(0))]

    # Three hours later: only the latest missed tick.
    evaluate(kubernetes_api, kube, k8s_namespace, at(3, 1))
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(0)), tick_run(at(3))]


def test_history_limits_and_forbid(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    create_schedule(
        kubernetes_api,
        k8s_namespace,
        concurrencyPolicy="Forbid",
        successfulRunsHistoryLimit=2,
        failedRunsHistoryLimit=1,
    )
    outcomes = ["Succeeded", "Failed", "Succeeded", "Canceled", "Succeeded"]
    for hour, phase in enumerate(outcomes):
        evaluate(kubernetes_api, kube, k8s_namespace, at(hour, 1))
        set_phase(kube, k8s_namespace, tick_run(at(hour)), phase)
    evaluate(kubernetes_api, kube, k8s_namespace, at(4, 2))
    # Kept: the 2 newest succeeded (hours 2 and 4) and the newest failed or canceled (hour 3).
    assert run_names(kubernetes_api, k8s_namespace) == sorted(
        tick_run(at(hour)) for hour in (2, 3, 4)
    )
    # Forbid: while hour 5's Run is unfinished, hour 6 is skipped for good.
    evaluate(kubernetes_api, kube, k8s_namespace, at(5, 1))
    evaluate(kubernetes_api, kube, k8s_namespace, at(6, 1))
    assert tick_run(at(6)) not in run_names(kubernetes_api, k8s_namespace)
    set_phase(kube, k8s_namespace, tick_run(at(5)), "Succeeded")
    status = evaluate(kubernetes_api, kube, k8s_namespace, at(6, 30))
    assert tick_run(at(6)) not in run_names(kubernetes_api, k8s_namespace)
    assert status["active"] is None
    evaluate(kubernetes_api, kube, k8s_namespace, at(7, 1))
    assert tick_run(at(7)) in run_names(kubernetes_api, k8s_namespace)


def test_replace_deletes_the_unfinished_run(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    create_schedule(kubernetes_api, k8s_namespace, concurrencyPolicy="Replace")
    evaluate(kubernetes_api, kube, k8s_namespace, at(0, 1))
    evaluate(kubernetes_api, kube, k8s_namespace, at(1, 1))
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(1))]


def test_suspend_skips_ticks_for_good(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    create_schedule(kubernetes_api, k8s_namespace, suspend=True)
    status = evaluate(kubernetes_api, kube, k8s_namespace, at(0, 30))
    assert run_names(kubernetes_api, k8s_namespace) == []
    assert status["nextScheduleTime"] is None
    assert ready(get_schedule(kubernetes_api, k8s_namespace))["reason"] == "Suspended"
    kube._call(
        "PATCH",
        f"/apis/kubedag.io/v1alpha1/namespaces/{k8s_namespace}/schedules/hourly",
        {"spec": {"suspend": False}},
        "application/merge-patch+json",
    )
    evaluate(kubernetes_api, kube, k8s_namespace, at(0, 40))  # hour 0 was missed while suspended
    assert run_names(kubernetes_api, k8s_namespace) == []
    evaluate(kubernetes_api, kube, k8s_namespace, at(1, 1))
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(1))]


@pytest.mark.parametrize(
    ("spec", "reason", "field"),
    [
        ({"cron": ["0 25 * * *"]}, "InvalidCron", "spec.cron[0]"),
        ({"timeZone": "Mars/Olympus"}, "UnknownTimeZone", "spec.timeZone"),
        ({"concurrencyPolicy": "Sometimes"}, "InvalidSpec", "spec.concurrencyPolicy"),
        ({"jobRef": {"name": "nope"}}, "JobNotFound", "spec.jobRef.name"),
    ],
)
def test_a_schedule_that_cannot_tick_says_why(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
    spec: dict[str, Any],
    reason: str,
    field: str,
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    create_schedule(kubernetes_api, k8s_namespace, **spec)
    evaluate(kubernetes_api, kube, k8s_namespace, at(0, 1))
    condition = ready(get_schedule(kubernetes_api, k8s_namespace))
    assert condition["status"] == "False" and condition["reason"] == reason
    assert field in condition["message"]
    assert run_names(kubernetes_api, k8s_namespace) == []


def test_a_schedule_ticking_across_an_operator_restart_runs_each_tick_once(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_job(kubernetes_api, k8s_namespace)
    create_schedule(kubernetes_api, k8s_namespace)

    def register(registry: kopf.OperatorRegistry) -> None:
        # As in the operator: the handlers take the client from kopf's memo.
        @kopf.on.startup(registry=registry)
        def start(memo: kopf.Memo, **_: Any) -> None:
            options = OperatorOptions(kubeconfig_file=str(kubernetes_api.kubeconfig))
            memo.kubedag = OperatorState(options, kube)

        schedule_handlers.register(registry, interval=0.2)

    def cursor() -> str | None:
        annotations = get_schedule(kubernetes_api, k8s_namespace)["metadata"].get("annotations")
        return (annotations or {}).get("kubedag.io/last-tick")

    monkeypatch.setenv(NOW_ENV, at(0, 1).isoformat())
    with running_operator(kubernetes_api, k8s_namespace, register):
        wait_for(lambda: run_names(kubernetes_api, k8s_namespace), 10, "the first tick's Run")
        wait_for(lambda: cursor() == at(0).isoformat(), 10, "the cursor at the first tick")
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(0))]

    # Restarted: the next tick gets its Run; the timer fires many times per tick, and no tick
    # (the earlier one included) gets a second Run.
    with running_operator(kubernetes_api, k8s_namespace, register):
        monkeypatch.setenv(NOW_ENV, at(1, 1).isoformat())
        wait_for(lambda: cursor() == at(1).isoformat(), 10, "the second tick")
        monkeypatch.setenv(NOW_ENV, at(1, 2).isoformat())
        wait_for(
            lambda: (
                get_schedule(kubernetes_api, k8s_namespace)["status"].get("nextScheduleTime")
                == at(2).strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            10,
            "the status",
        )
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(at(0)), tick_run(at(1))]

    # Down for three hours: only the latest missed tick runs after the restart.
    monkeypatch.setenv(NOW_ENV, at(4, 1).isoformat())
    with running_operator(kubernetes_api, k8s_namespace, register):
        wait_for(lambda: cursor() == at(4).isoformat(), 10, "the tick after downtime")
    assert run_names(kubernetes_api, k8s_namespace) == [
        tick_run(at(0)),
        tick_run(at(1)),
        tick_run(at(4)),
    ]


PARTITIONED_CODE = """
import kubedag as dg

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(partitions_def=daily)
def orders() -> None: ...


daily_job = dg.define_asset_job("daily_job", selection=[orders], partitions_def=daily)

defs = dg.Definitions(assets=[orders], jobs=[daily_job])
"""


def test_latest_complete_runs_the_window_that_ended_at_each_tick(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The job's partitions come from its CodeLocation's code server; after downtime each
    caught-up tick runs its own day. Without an answering server nothing is created, and the
    ticks run once it answers."""
    from kubedag.code_location.load import load_definitions
    from kubedag.code_server.server import CodeServer, serving

    source = tmp_path / "daily_defs.py"
    source.write_text(PARTITIONED_CODE)
    server = CodeServer("sales", lambda: load_definitions(python_file=str(source)))
    server.load()
    midnight = BASE.replace(hour=0)  # the first midnight after the objects' creation
    create_job(kubernetes_api, k8s_namespace, job_name="daily_job")
    create_schedule(
        kubernetes_api,
        k8s_namespace,
        name="daily",
        cron=["0 0 * * *"],
        partitionSelection={"mode": "LatestComplete", "maxCatchupTicks": 2},
    )
    with serving(server) as httpd:
        url = httpd.base_url
    create_location(kubernetes_api, k8s_namespace, annotations={CODE_SERVER_URL_ANNOTATION: url})
    # Nothing answers at the location's address: no Run, the ticks wait.
    evaluate(kubernetes_api, kube, k8s_namespace, midnight + timedelta(days=2, minutes=5), "daily")
    condition = ready(get_schedule(kubernetes_api, k8s_namespace, "daily"))
    assert condition["reason"] == "PartitionsUnavailable" and url in condition["message"]
    assert run_names(kubernetes_api, k8s_namespace) == []

    with serving(server) as httpd:
        kube._call(
            "PATCH",
            f"/apis/kubedag.io/v1alpha1/namespaces/{k8s_namespace}/codelocations/sales",
            {"metadata": {"annotations": {CODE_SERVER_URL_ANNOTATION: httpd.base_url}}},
            "application/merge-patch+json",
        )
        evaluate(
            kubernetes_api, kube, k8s_namespace, midnight + timedelta(days=2, minutes=6), "daily"
        )
    ticks = [midnight + timedelta(days=1), midnight + timedelta(days=2)]
    assert run_names(kubernetes_api, k8s_namespace) == [tick_run(t, "daily") for t in ticks]
    for tick in ticks:
        run = kubernetes_api.get("kubedag.io", "runs", k8s_namespace, tick_run(tick, "daily"))
        assert run is not None
        assert run["spec"]["partition"] == (tick - timedelta(days=1)).strftime("%Y-%m-%d")
    assert ready(get_schedule(kubernetes_api, k8s_namespace, "daily"))["reason"] == "Scheduled"
