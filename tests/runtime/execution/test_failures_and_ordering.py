"""Execution order, and what a failing step does to the rest of the run."""

import traceback

import pytest

import kubedag as dg
from kubedag.records.events import EventType


def _starts(result: dg.ExecuteInProcessResult) -> list[str | None]:
    return [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]


def test_steps_run_in_dependency_order_and_ties_keep_definition_order() -> None:
    @dg.asset
    def zeta() -> int:
        return 1

    @dg.asset
    def alpha() -> int:
        return 2

    @dg.asset
    def combined(zeta: int, alpha: int) -> int:
        return zeta + alpha

    @dg.asset
    def middle() -> int:
        return 3

    # Listed out of order: dependencies first, then definition order among ready steps.
    result = dg.materialize([combined, middle, zeta, alpha])
    order = _starts(result)
    assert order.index("zeta") < order.index("combined")
    assert order.index("alpha") < order.index("combined")
    assert order == _starts(dg.materialize([combined, middle, zeta, alpha]))
    assert order == ["middle", "zeta", "alpha", "combined"]


def boom_helper() -> None:
    raise ValueError("the upstream API returned 503")


def test_failure_keeps_user_traceback_and_skips_downstream_only() -> None:
    @dg.asset
    def flaky() -> int:
        boom_helper()
        return 1

    @dg.asset
    def after_flaky(flaky: int) -> int:
        return flaky

    @dg.asset
    def independent() -> int:
        return 7

    result = dg.materialize([flaky, after_flaky, independent], raise_on_error=False)
    assert not result.success
    assert result.run.status is dg.RunStatus.FAILURE
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "flaky"
    error = failure.step_failure_data.error
    assert error is not None
    assert "the upstream API returned 503" in error.message
    assert error.cause is not None
    assert error.cause.cls_name == "ValueError"
    user_stack = "".join(error.cause.stack)
    assert "boom_helper" in user_stack
    assert "test_failures_and_ordering.py" in user_stack
    assert "step_execution.py" not in user_stack  # kubedag's own frames are trimmed
    assert result.is_node_skipped("after_flaky")
    assert result.is_node_success("independent")
    assert result.output_for_node("independent") == 7
    skipped = result.get_step_skipped_events()
    assert [e.step_key for e in skipped] == ["after_flaky"]
    assert 'upstream step "flaky" failed' in skipped[0].message


def test_raise_on_error_re_raises_the_user_exception() -> None:
    # The reference re-raises the user's own exception (not a wrapper) from materialize.
    @dg.asset
    def broken() -> int:
        raise KeyError("customer_id")

    with pytest.raises(KeyError) as raised:
        dg.materialize([broken])
    assert raised.value.args == ("customer_id",)
    assert any(frame.name == "broken" for frame in traceback.extract_tb(raised.tb))


def test_the_run_record_and_event_log_agree_on_failure() -> None:
    @dg.asset
    def broken() -> int:
        raise RuntimeError("nope")

    instance = dg.Instance.ephemeral()
    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status is dg.RunStatus.FAILURE
    types = [e.event.event_type for e in instance.all_logs(result.run_id) if e.event]
    assert types[0] is EventType.RUN_START
    assert types[-1] is EventType.RUN_FAILURE
    assert EventType.STEP_FAILURE in types


def test_dg_failure_carries_description_and_metadata() -> None:
    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
    def guarded() -> None:
        raise dg.Failure(description="bad input file", metadata={"rows": 0}, allow_retries=False)

    result = dg.materialize([guarded], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data == {
        "description": "bad input file",
        "metadata": {"rows": 0},
    }
    retries = [e for e in result.all_events if e.event_type is EventType.STEP_UP_FOR_RETRY]
    assert retries == []


def test_returning_a_value_from_a_none_annotated_asset_fails_clearly() -> None:
    @dg.asset
    def side_effect_only() -> None:
        return 5  # type: ignore[return-value]

    result = dg.materialize([side_effect_only], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "declared to return nothing" in failure.step_failure_data.error.message  # type: ignore[union-attr]


def test_keyboard_interrupt_ends_the_run_as_failed_and_propagates() -> None:
    @dg.asset
    def interrupted() -> None:
        raise KeyboardInterrupt

    instance = dg.Instance.ephemeral()
    with pytest.raises(KeyboardInterrupt):
        dg.materialize([interrupted], instance=instance)
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE
    last = instance.all_logs(run.run_id)[-1].event
    assert last is not None and last.event_type is EventType.RUN_FAILURE
