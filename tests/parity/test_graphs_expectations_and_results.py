"""`ExpectationResult` events and the `JobExecutionResult` queries of the reference."""

from collections.abc import Iterator
from pathlib import Path

import kubedag as dg
from kubedag.records.events import EventType


@dg.op
def checked() -> Iterator[object]:
    yield dg.ExpectationResult(False, "non_negative", "all values >= 0", {"n": 3})
    yield dg.ExpectationResult(True, "not_empty")
    yield dg.Output(1)


@dg.op
def follow(x: int) -> int:
    return x + 1


@dg.job
def expecting() -> None:
    follow(checked())


def test_an_expectation_is_recorded_and_a_failed_one_does_not_fail_the_step() -> None:
    result = expecting.execute_in_process()
    assert result.success
    events = [e for e in result.all_events if e.event_type is EventType.STEP_EXPECTATION_RESULT]
    assert [e.event_type_value for e in events] == ["STEP_EXPECTATION_RESULT"] * 2
    assert events[0].message == "Expectation non_negative failed"
    assert events[0].step_key == "checked"
    expectations = result.expectation_results_for_node("checked")
    assert [(x.success, x.label) for x in expectations] == [
        (False, "non_negative"),
        (True, "not_empty"),
    ]
    assert expectations[0].description == "all values >= 0"
    assert expectations[0].metadata == {"n": dg.IntMetadataValue(3)}  # normalized, as the reference


def test_an_expectation_survives_a_persistent_event_log(tmp_path: Path) -> None:
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        result = expecting.execute_in_process(instance=instance)
        stored = [
            entry.event.event_specific_data
            for entry in instance.all_logs(result.run_id)
            if entry.event is not None
            and entry.event.event_type is EventType.STEP_EXPECTATION_RESULT
        ]
    assert stored == [
        dg.ExpectationResult(False, "non_negative", "all values >= 0", {"n": 3}),
        dg.ExpectationResult(True, "not_empty"),
    ]


def test_the_result_is_a_job_execution_result_with_the_reference_queries() -> None:
    @dg.op
    def boom() -> int:
        raise ValueError("no")

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=1))
    def flaky() -> int:
        raise ValueError("again")

    @dg.job
    def mixed() -> None:
        follow(checked())
        follow.alias("after_boom")(boom())
        flaky()

    result = mixed.execute_in_process(raise_on_error=False)
    assert isinstance(result, dg.JobExecutionResult)
    assert isinstance(result, dg.ExecuteInProcessResult)
    assert not result.success
    assert result.output_for_node("follow") == 2
    assert result.get_failed_step_keys() == {"boom", "flaky"}
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_boom"]
    assert result.is_node_skipped("after_boom") and result.is_node_failed("boom")
    failure = result.failure_data_for_node("boom")
    assert failure is not None and failure.error is not None and "no" in failure.error.message
    assert result.failure_data_for_node("follow") is None
    assert result.retry_attempts_for_node("flaky") == 1
    assert not result.is_node_untouched("follow")
    assert result.is_node_untouched("nothing_here")
    assert len(result.filter_events(lambda e: e.event_type is EventType.STEP_START)) == 4
    with result as same:
        assert same is result


def test_execute_job_returns_a_job_execution_result(tmp_path: Path) -> None:
    with (
        dg.Instance.from_config({}, home=str(tmp_path)) as instance,
        dg.execute_job(dg.reconstructable(expecting), instance) as result,
    ):
        assert isinstance(result, dg.JobExecutionResult)
        assert result.success
        assert result.output_for_node("follow") == 2
