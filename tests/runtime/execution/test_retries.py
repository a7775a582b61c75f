"""Retry policies: delay, backoff and jitter are exact, and every attempt is recorded."""

import pytest

import kubedag as dg
from kubedag.definitions.policies import retry_delay
from kubedag.records.events import EventType


def test_delay_without_backoff_is_constant() -> None:
    policy = dg.RetryPolicy(max_retries=3, delay=2)
    assert [retry_delay(policy, n) for n in (1, 2, 3)] == [2, 2, 2]


def test_linear_backoff_grows_with_the_attempt() -> None:
    policy = dg.RetryPolicy(max_retries=3, delay=0.5, backoff=dg.Backoff.LINEAR)
    assert [retry_delay(policy, n) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]


def test_exponential_backoff_doubles() -> None:
    policy = dg.RetryPolicy(max_retries=4, delay=0.2, backoff=dg.Backoff.EXPONENTIAL)
    assert [round(retry_delay(policy, n), 6) for n in (1, 2, 3, 4)] == [0.2, 0.6, 1.4, 3.0]


def test_full_jitter_scales_by_the_draw() -> None:
    policy = dg.RetryPolicy(delay=4, jitter=dg.Jitter.FULL)
    assert retry_delay(policy, 1, draw=0.25) == 1.0
    assert retry_delay(policy, 1, draw=0.0) == 0.0


def test_plus_minus_jitter_stays_within_half_the_delay() -> None:
    policy = dg.RetryPolicy(delay=4, jitter=dg.Jitter.PLUS_MINUS)
    assert retry_delay(policy, 1, draw=0.0) == 2.0
    assert retry_delay(policy, 1, draw=0.5) == 4.0
    assert retry_delay(policy, 1, draw=0.999) == pytest.approx(5.996)


def test_invalid_policies_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        dg.RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="base delay"):
        dg.RetryPolicy(backoff=dg.Backoff.LINEAR)


def test_step_is_retried_until_it_succeeds_and_each_attempt_is_recorded() -> None:
    attempts: list[int] = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
    def flaky(context: dg.AssetExecutionContext) -> int:
        attempts.append(context.retry_number)
        if len(attempts) < 3:
            raise ConnectionError(f"attempt {len(attempts)} failed")
        return 42

    result = dg.materialize([flaky])
    assert result.success
    assert result.output_for_node("flaky") == 42
    assert attempts == [0, 1, 2]
    types = [e.event_type for e in result.all_events if e.step_key == "flaky"]
    assert types.count(EventType.STEP_UP_FOR_RETRY) == 2
    assert types.count(EventType.STEP_RESTARTED) == 2
    assert types[-1] is EventType.STEP_SUCCESS
    retry_events = [e for e in result.all_events if e.event_type is EventType.STEP_UP_FOR_RETRY]
    assert [e.event_specific_data.attempt for e in retry_events] == [1, 2]
    assert "attempt 1 failed" in retry_events[0].event_specific_data.error.message


def test_step_fails_after_exhausting_retries() -> None:
    calls: list[int] = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def always_down() -> int:
        calls.append(1)
        raise ConnectionError("down")

    result = dg.materialize([always_down], raise_on_error=False)
    assert not result.success
    assert len(calls) == 3
    assert len(result.get_step_failure_events()) == 1


def test_retry_requested_works_without_a_policy() -> None:
    calls: list[int] = []

    @dg.op
    def polls() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise dg.RetryRequested(max_retries=2)
        return "ready"

    @dg.job
    def polling():
        polls()

    result = polling.execute_in_process()
    assert result.output_for_node("polls") == "ready"
    assert len(calls) == 2


def test_op_retry_policy_inside_a_graph_asset() -> None:
    calls: list[int] = []

    @dg.op(
        retry_policy=dg.RetryPolicy(
            max_retries=5, delay=0.001, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
        )
    )
    def step_one() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("slow")
        return 42

    @dg.op
    def step_two(num: int) -> int:
        return num**2

    @dg.graph_asset
    def complex_asset():
        return step_two(step_one())

    result = dg.materialize([complex_asset])
    assert result.output_for_node("complex_asset") == 1764
    assert len(calls) == 2
    waits = [
        e.event_specific_data.seconds_to_wait
        for e in result.all_events
        if e.event_type is EventType.STEP_UP_FOR_RETRY
    ]
    assert len(waits) == 1 and 0.0005 <= waits[0] <= 0.0015
