"""Reference section "Common patterns", retries: a `RetryPolicy` on an asset, or on an op inside
a graph asset, re-runs a failed step after the policy's delay.

`call_unreliable_api` and `unreliable_step` fail on their first call and succeed on the second,
so each test waits one real back-off delay (1 s and 0.1-0.3 s with the reference's policies).
"""

import sys

import pytest

import kubedag as dg


class FlakyService:
    """Fails the first `failures` calls, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def call(self) -> dict[str, bool]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"attempt {self.calls} failed")
        return {"ok": True}


service = FlakyService(failures=1)


def call_unreliable_api() -> dict[str, bool]:
    return service.call()


@dg.asset(
    retry_policy=dg.RetryPolicy(
        max_retries=3,
        delay=1,
        backoff=dg.Backoff.EXPONENTIAL,
    )
)
def flaky_api_asset():
    return call_unreliable_api()


@dg.op(
    retry_policy=dg.RetryPolicy(
        max_retries=5,
        delay=0.2,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
)
def unreliable_step() -> int:
    call_unreliable_api()
    return 42


@dg.graph_asset
def graph_with_unreliable_step():
    return unreliable_step()


def _use_service(monkeypatch: pytest.MonkeyPatch, failures: int) -> FlakyService:
    fresh = FlakyService(failures)
    monkeypatch.setattr(sys.modules[__name__], "service", fresh)
    return fresh


def _step_events(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.event_type.value for e in result.all_events if e.event_type.value.startswith("STEP_")]


def test_asset_retry_policy_retries_after_a_failure(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    flaky = _use_service(monkeypatch, failures=1)

    result = dg.materialize([flaky_api_asset], instance=instance)

    assert result.success
    assert result.asset_value("flaky_api_asset") == {"ok": True}
    assert flaky.calls == 2
    assert _step_events(result) == [
        "STEP_START",
        "STEP_UP_FOR_RETRY",
        "STEP_RESTARTED",
        "STEP_OUTPUT",
        "STEP_SUCCESS",
    ]
    [retry] = [e for e in result.all_events if e.event_type is dg.EventType.STEP_UP_FOR_RETRY]
    assert retry.event_specific_data.seconds_to_wait == 1.0  # delay * (2**1 - 1), no jitter


def test_op_retry_policy_inside_a_graph_asset(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    flaky = _use_service(monkeypatch, failures=1)

    result = dg.materialize([graph_with_unreliable_step], instance=instance)

    assert result.success
    assert result.asset_value("graph_with_unreliable_step") == 42
    assert flaky.calls == 2
    [retry] = [e for e in result.all_events if e.event_type is dg.EventType.STEP_UP_FOR_RETRY]
    assert retry.step_key == "graph_with_unreliable_step.unreliable_step"
    assert 0.1 <= retry.event_specific_data.seconds_to_wait <= 0.3  # 0.2 +/- half, jittered


def test_failure_that_forbids_retries_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    def refuse() -> dict[str, bool]:
        raise dg.Failure("credentials rejected", allow_retries=False)

    monkeypatch.setattr(sys.modules[__name__], "call_unreliable_api", refuse)

    result = dg.materialize([flaky_api_asset], instance=instance, raise_on_error=False)

    assert not result.success
    assert _step_events(result) == ["STEP_START", "STEP_FAILURE"]
