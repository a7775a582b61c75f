"""Declarative automation: `eager`, `on_cron` and `on_missing`, first as the pure evaluator over
hand-made inputs, then over real materializations and through the daemon's automation loop."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence

import pytest

import kubedag as dg
from kubedag.automation.conditions import (
    AssetNode,
    AutomationCursor,
    AutomationEvaluation,
    AutomationInputs,
    Materialized,
    evaluate_conditions,
    group_requests,
)
from kubedag.automation.instigators import automation_tick_requests, run_automation, set_running
from kubedag.storage.records import InstigatorType, TickStatus
from tests.runtime.automation.conftest import location, utc

A, B, C, D = (dg.AssetKey(name) for name in "abcd")
EAGER = dg.AutomationCondition.eager()
NOW = utc(2024, 5, 1, 12)


def chain(condition: dg.AutomationCondition | None = EAGER) -> list[AssetNode]:
    """a -> b -> c, with `condition` on b and c."""
    return [AssetNode(A), AssetNode(B, (A,), condition), AssetNode(C, (B,), condition)]


def evaluate(
    nodes: Sequence[AssetNode],
    cursor: AutomationCursor | None = None,
    now: datetime.datetime = NOW,
    latest: Mapping[dg.AssetKey, tuple[int, float]] | None = None,
    in_progress: Sequence[tuple[dg.AssetKey, str | None]] = (),
    **extra: object,
) -> AutomationEvaluation:
    inputs = AutomationInputs(
        nodes=nodes,
        now=now,
        latest={k: Materialized(*v) for k, v in (latest or {}).items()},
        in_progress=frozenset(in_progress),
        **extra,  # type: ignore[arg-type]
    )
    return evaluate_conditions(inputs, cursor or AutomationCursor())


def requested(evaluation: AutomationEvaluation) -> list[str]:
    return [item.describe().split(":")[0] for item in evaluation.requests]


# -- eager ----------------------------------------------------------------------------------------
def test_eager_waits_for_upstream_assets_to_exist() -> None:
    assert requested(evaluate(chain())) == []


def test_eager_requests_a_whole_chain_at_once_when_its_root_changes() -> None:
    first = evaluate(chain(), latest={A: (1, 100.0)})

    assert requested(first) == ["b", "c"]
    assert "missing" in first.requests[0].reason or "updated" in first.requests[0].reason
    [run] = group_requests(first.requests, {n.key: n for n in chain()}, first.evaluation_id)
    assert run.request.asset_selection == (B, C) and run.request.partition_key is None


def test_eager_requests_once_then_waits_for_the_next_upstream_change() -> None:
    everything = {A: (10, 100.0), B: (11, 101.0), C: (12, 102.0)}
    assert requested(evaluate(chain(), latest=everything)) == []

    changed = {**everything, A: (20, 200.0)}
    first = evaluate(chain(), latest=changed)
    assert requested(first) == ["b", "c"]
    assert first.requests[0].reason == "eager: upstream a updated since it was last handled"
    # The run failed (nothing new was materialized): no retry until `a` changes again.
    assert requested(evaluate(chain(), first.cursor, latest=changed)) == []
    again = {**changed, A: (30, 300.0)}
    assert requested(evaluate(chain(), first.cursor, latest=again)) == ["b", "c"]


def test_eager_does_not_request_while_it_or_an_upstream_is_in_progress() -> None:
    latest = {A: (20, 200.0), B: (11, 101.0), C: (12, 102.0)}
    assert requested(evaluate(chain(), latest=latest, in_progress=[(A, None)])) == []
    assert requested(evaluate(chain(), latest=latest, in_progress=[(C, None)])) == ["b"]
    # c waits for b, which is now in progress; once b is materialized, c follows.
    second = {**latest, B: (25, 250.0)}
    assert requested(evaluate(chain(), latest=second)) == ["c"]


def test_eager_ignores_missing_external_parents_but_sees_their_updates() -> None:
    nodes = [AssetNode(A, materializable=False), AssetNode(B, (A,), EAGER)]
    first = evaluate(nodes)
    assert requested(first) == ["b"]  # missing, and nothing it can wait for
    assert requested(evaluate(nodes, first.cursor)) == []
    assert requested(evaluate(nodes, first.cursor, latest={A: (5, 50.0), B: (3, 30.0)})) == ["b"]


# -- on_missing ---------------------------------------------------------------------------------
def test_on_missing_requests_a_missing_asset_once_its_upstream_exists() -> None:
    nodes = [AssetNode(A), AssetNode(B, (A,), dg.AutomationCondition.on_missing())]
    assert requested(evaluate(nodes)) == []
    first = evaluate(nodes, latest={A: (1, 1.0)})
    assert [r.reason for r in first.requests] == [
        "on_missing: never materialized, and its upstream assets exist"
    ]
    assert requested(evaluate(nodes, first.cursor, latest={A: (2, 2.0)})) == []


def test_on_missing_for_partitions_looks_at_each_candidate_partition() -> None:
    daily = dg.DailyPartitionsDefinition("2024-04-01")
    nodes = [
        AssetNode(A, partitions_def=daily),
        AssetNode(B, (A,), dg.AutomationCondition.on_missing(), partitions_def=daily),
    ]
    inputs = AutomationInputs(
        nodes=nodes,
        now=NOW,
        partition_keys={B: ["2024-04-30"]},
        latest_by_partition={A: {"2024-04-30": Materialized(1, 1.0)}},
    )
    first = evaluate_conditions(inputs, AutomationCursor())
    assert [(r.asset_key, r.partition_key) for r in first.requests] == [(B, "2024-04-30")]
    assert evaluate_conditions(inputs, first.cursor).requests == ()


# -- on_cron --------------------------------------------------------------------------------------
def test_on_cron_runs_once_per_tick_after_every_upstream_updated() -> None:
    hourly = dg.AutomationCondition.on_cron("0 * * * *")
    nodes = [AssetNode(A), AssetNode(D), AssetNode(B, (A, D), hourly)]
    ten = utc(2024, 5, 1, 10).timestamp()
    first = evaluate(nodes, now=utc(2024, 5, 1, 9, 30), latest={A: (1, ten - 60), D: (2, ten - 60)})
    assert requested(first) == []  # first sight: ticks from before do not count

    waiting = evaluate(nodes, first.cursor, now=utc(2024, 5, 1, 10, 5), latest={A: (3, ten + 60)})
    assert requested(waiting) == []  # d has not been updated since 10:00
    both = {A: (3, ten + 60), D: (4, ten + 120)}
    fired = evaluate(nodes, waiting.cursor, now=utc(2024, 5, 1, 10, 10), latest=both)
    assert [r.reason for r in fired.requests] == [
        "on_cron: tick 2024-05-01T10:00:00+00:00 passed and every upstream updated since"
    ]
    assert requested(evaluate(nodes, fired.cursor, now=utc(2024, 5, 1, 10, 50), latest=both)) == []
    later = {A: (5, ten + 3700), D: (6, ten + 3700)}
    assert requested(evaluate(nodes, fired.cursor, now=utc(2024, 5, 1, 11, 5), latest=later)) == [
        "b"
    ]


def test_on_cron_counts_an_upstream_requested_in_the_same_evaluation() -> None:
    nodes = [
        AssetNode(A),
        AssetNode(B, (A,), dg.AutomationCondition.on_cron("0 * * * *")),
        AssetNode(C, (B,), dg.AutomationCondition.on_cron("0 * * * *")),
    ]
    seen = evaluate(nodes, now=utc(2024, 5, 1, 9, 59))
    ten = utc(2024, 5, 1, 10).timestamp()
    fired = evaluate(nodes, seen.cursor, now=utc(2024, 5, 1, 10, 1), latest={A: (1, ten + 30)})
    assert requested(fired) == ["b", "c"]


# -- combinations --------------------------------------------------------------------------------
def test_conditions_combine_and_say_why() -> None:
    missing_and_idle = dg.AutomationCondition.missing() & ~dg.AutomationCondition.in_progress()
    nodes = [AssetNode(A, condition=missing_and_idle)]
    [request] = evaluate(nodes).requests
    assert request.reason == "missing; not in_progress"
    assert evaluate(nodes, in_progress=[(A, None)]).requests == ()
    assert missing_and_idle.label == "missing & ~in_progress"
    assert dg.AutomationCondition.on_cron("@hourly").label == "on_cron(@hourly, UTC)"


def test_the_cursor_round_trips_through_json() -> None:
    evaluation = evaluate(chain(), latest={A: (1, 100.0)})
    text = evaluation.cursor.to_json()
    assert AutomationCursor.from_json(text) == evaluation.cursor
    assert json.loads(text)["evaluation_id"] == 1


# -- over real materializations --------------------------------------------------------------------
@dg.asset
def upstream() -> None: ...


@dg.asset(deps=[upstream], automation_condition=dg.AutomationCondition.eager())
def eager_asset() -> None: ...


@dg.asset(deps=[eager_asset], automation_condition=dg.AutomationCondition.eager())
def eager_child() -> None: ...


@dg.asset(deps=[upstream], automation_condition=dg.AutomationCondition.on_missing())
def on_missing_asset() -> None: ...


defs = dg.Definitions(assets=[upstream, eager_asset, eager_child, on_missing_asset])


def test_evaluate_automation_conditions_over_an_instance(sqlite_instance: dg.Instance) -> None:
    result = dg.evaluate_automation_conditions(defs=defs, instance=sqlite_instance)
    assert result.total_requested == 0

    dg.materialize([upstream], instance=sqlite_instance)
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=sqlite_instance, cursor=result.cursor
    )
    assert result.requested_keys == {
        dg.AssetKey("eager_asset"),
        dg.AssetKey("eager_child"),
        dg.AssetKey("on_missing_asset"),
    }
    assert len(result.run_requests) == 1

    dg.materialize(
        [upstream, eager_asset, eager_child, on_missing_asset],
        selection=[eager_asset, eager_child, on_missing_asset],
        instance=sqlite_instance,
    )
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=sqlite_instance, cursor=result.cursor
    )
    assert result.total_requested == 0


def test_the_automation_loop_requests_runs_and_records_why(instance: dg.Instance) -> None:
    loc = location(defs)
    assert [t.status for t in run_automation(instance, [loc], now=utc(2024, 5, 1))] == [
        TickStatus.SKIPPED
    ]
    dg.materialize([upstream], instance=instance)

    assert run_automation(instance, [loc], now=utc(2024, 5, 1, 0, 0, 10)) == []  # not due yet
    [tick] = run_automation(instance, [loc], now=utc(2024, 5, 1, 0, 0, 30))
    assert tick.status is TickStatus.SUCCESS and len(tick.run_ids) == 1
    [run] = instance.get_runs(dg.RunsFilter(run_ids=list(tick.run_ids)))
    assert run.job_name == "__ASSET_JOB"
    assert run.asset_selection == {
        dg.AssetKey("eager_asset"),
        dg.AssetKey("eager_child"),
        dg.AssetKey("on_missing_asset"),
    }
    assert run.tags["kubedag/automation_evaluation_id"] == "2"
    reasons = {r["asset_key"]: r["reason"] for r in automation_tick_requests(tick)}
    assert reasons["on_missing_asset"].startswith("on_missing")
    assert reasons["eager_child"].startswith("eager")

    # The run is queued (in progress): nothing more is requested while it is.
    [tick] = run_automation(instance, [loc], now=utc(2024, 5, 1, 0, 1))
    assert tick.status is TickStatus.SKIPPED
    assert instance.get_runs_count() == 2  # the materialization and the requested run


def test_the_automation_loop_can_be_stopped(sqlite_instance: dg.Instance) -> None:
    set_running(
        sqlite_instance, "loc", "default_automation_condition_sensor", InstigatorType.SENSOR, False
    )
    dg.materialize([upstream], instance=sqlite_instance)
    assert run_automation(sqlite_instance, [location(defs)], now=utc(2024, 5, 1)) == []


def test_locations_without_conditions_have_no_automation_ticks(
    sqlite_instance: dg.Instance,
) -> None:
    plain = dg.Definitions(assets=[upstream])
    assert run_automation(sqlite_instance, [location(plain)], now=utc(2024, 5, 1)) == []
    assert sqlite_instance.all_instigator_state() == []


@pytest.mark.parametrize("condition", ["eager", "on_missing"])
def test_partitioned_assets_request_their_latest_partition(
    sqlite_instance: dg.Instance, condition: str
) -> None:
    daily = dg.DailyPartitionsDefinition("2024-04-01")

    @dg.asset(partitions_def=daily)
    def raw() -> None: ...

    @dg.asset(
        partitions_def=daily,
        deps=[raw],
        automation_condition=getattr(dg.AutomationCondition, condition)(),
    )
    def cleaned() -> None: ...

    partitioned = dg.Definitions(assets=[raw, cleaned])
    now = datetime.datetime(2024, 4, 10, 6, tzinfo=datetime.UTC)
    dg.materialize([raw], instance=sqlite_instance, partition_key="2024-04-09")
    dg.materialize([raw], instance=sqlite_instance, partition_key="2024-04-05")

    result = dg.evaluate_automation_conditions(
        defs=partitioned, instance=sqlite_instance, evaluation_time=now
    )
    assert [(r.asset_key, r.partition_key) for r in result.requests] == [
        (dg.AssetKey("cleaned"), "2024-04-09")
    ]
    [run_request] = result.run_requests
    assert run_request.partition_key == "2024-04-09"
