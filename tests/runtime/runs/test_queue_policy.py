"""The queue's policy as a pure function: limits, tags, priority, order."""

from __future__ import annotations

import pytest

from kubedag.records.run import Run, RunStatus
from kubedag.runs.queue import QueueLimits, TagConcurrencyLimit, plan_dequeue, run_priority


def run(name: str, status: RunStatus = RunStatus.QUEUED, **tags: str) -> Run:
    return Run(job_name="job", run_id=name, status=status, tags=dict(tags))


def running(name: str, **tags: str) -> Run:
    return run(name, RunStatus.STARTED, **tags)


def launched(queued: list[Run], in_progress: list[Run], limits: QueueLimits) -> list[str]:
    return plan_dequeue(queued, in_progress, limits).run_ids


QUEUE = [run(f"q{i}") for i in range(5)]


@pytest.mark.parametrize(
    ("maximum", "in_progress", "expected"),
    [
        (3, 0, ["q0", "q1", "q2"]),
        (3, 2, ["q0"]),
        (3, 3, []),
        (3, 5, []),  # more in progress than allowed (launched without the queue): nothing
        (10, 0, ["q0", "q1", "q2", "q3", "q4"]),
        (-1, 50, ["q0", "q1", "q2", "q3", "q4"]),  # -1: no limit
        (0, 0, []),  # 0: launch nothing
    ],
)
def test_max_concurrent_runs(maximum: int, in_progress: int, expected: list[str]) -> None:
    busy = [running(f"r{i}") for i in range(in_progress)]
    assert launched(QUEUE, busy, QueueLimits(maximum)) == expected


def test_every_waiting_run_says_why() -> None:
    plan = plan_dequeue(QUEUE, [], QueueLimits(2))
    assert plan.waiting == {f"q{i}": "max_concurrent_runs (2) reached" for i in (2, 3, 4)}
    paused = plan_dequeue(QUEUE[:1], [], QueueLimits(0))
    assert paused.waiting == {"q0": "max_concurrent_runs is 0"}


def test_a_tag_limit_with_a_value_counts_only_that_value() -> None:
    limits = QueueLimits(-1, (TagConcurrencyLimit("db", 1, value="warehouse"),))
    queued = [run("a", db="warehouse"), run("b", db="warehouse"), run("c", db="lake"), run("d")]
    assert launched(queued, [], limits) == ["a", "c", "d"]
    assert launched(queued, [running("r", db="warehouse")], limits) == ["c", "d"]
    assert launched(queued, [running("r", db="lake")], limits) == ["a", "c", "d"]
    plan = plan_dequeue(queued, [], limits)
    assert plan.waiting == {"b": "tag limit db=warehouse (1) reached"}


def test_a_tag_limit_without_a_value_counts_every_value_together() -> None:
    limits = QueueLimits(-1, (TagConcurrencyLimit("db", 2),))
    queued = [run("a", db="x"), run("b", db="y"), run("c", db="z"), run("d", other="1")]
    assert launched(queued, [], limits) == ["a", "b", "d"]
    assert launched(queued, [running("r", db="w")], limits) == ["a", "d"]


def test_a_tag_limit_per_unique_value_gives_each_value_its_own_limit() -> None:
    limits = QueueLimits(-1, (TagConcurrencyLimit("tenant", 1, per_unique_value=True),))
    queued = [run("a", tenant="x"), run("b", tenant="x"), run("c", tenant="y"), run("d")]
    assert launched(queued, [], limits) == ["a", "c", "d"]
    assert launched(queued, [running("r", tenant="y")], limits) == ["a", "d"]
    assert plan_dequeue(queued, [], limits).waiting == {
        "b": "tag limit tenant per value, tenant=x (1) reached"
    }


def test_every_limit_must_allow_a_run() -> None:
    limits = QueueLimits(
        3,
        (TagConcurrencyLimit("db", 1, value="warehouse"), TagConcurrencyLimit("team", 1)),
    )
    queued = [
        run("a", db="warehouse", team="x"),
        run("b", team="y"),  # team limit: a holds it
        run("c", db="warehouse"),  # db limit: a holds it
        run("d"),
        run("e"),  # the third and last of max_concurrent_runs
        run("f"),
    ]
    plan = plan_dequeue(queued, [], limits)
    assert plan.run_ids == ["a", "d", "e"]
    assert plan.waiting == {
        "b": "tag limit team (1) reached",
        "c": "tag limit db=warehouse (1) reached",
        "f": "max_concurrent_runs (3) reached",
    }


def test_a_limit_of_zero_holds_back_every_run_it_concerns() -> None:
    limits = QueueLimits(-1, (TagConcurrencyLimit("frozen", 0),))
    assert launched([run("a", frozen="yes"), run("b")], [], limits) == ["b"]


def test_higher_priority_goes_first_and_equal_priorities_keep_their_order() -> None:
    queued = [
        run("old"),
        run("urgent", **{"kubedag/priority": "10"}),
        run("late", **{"kubedag/priority": "-1"}),
        run("new"),
        run("also-urgent", **{"kubedag/priority": "10"}),
        run("garbage", **{"kubedag/priority": "high"}),  # not an integer: 0
    ]
    assert launched(queued, [], QueueLimits(-1)) == [
        "urgent",
        "also-urgent",
        "old",
        "new",
        "garbage",
        "late",
    ]
    assert launched(queued, [], QueueLimits(2)) == ["urgent", "also-urgent"]
    assert run_priority(queued[5]) == 0


def test_a_blocked_high_priority_run_does_not_hold_back_others() -> None:
    limits = QueueLimits(2, (TagConcurrencyLimit("db", 1),))
    queued = [run("low"), run("high", db="x", **{"kubedag/priority": "5"})]
    assert launched(queued, [running("r", db="y")], limits) == ["low"]


def test_tag_limits_from_the_configuration_forms() -> None:
    assert TagConcurrencyLimit.from_config({"key": "db", "value": "w", "limit": 1}) == (
        TagConcurrencyLimit("db", 1, "w")
    )
    assert TagConcurrencyLimit.from_config({"key": "db", "limit": "2"}) == TagConcurrencyLimit(
        "db", 2
    )
    per_value = {"key": "t", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    assert TagConcurrencyLimit.from_config(per_value) == TagConcurrencyLimit(
        "t", 1, per_unique_value=True
    )
