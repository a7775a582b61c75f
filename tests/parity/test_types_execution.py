"""Type checks at step boundaries: typed outputs are checked after the op returns and before
they are stored, typed inputs after they are loaded and before the op runs, and untyped ones
not at all. The events and errors follow the reference (dagster 1.13.29) run on the same jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.records.events import EventLogEntry, EventType, OutputData, StepInputData
from kubedag.storage.serialization import deserialize_entry, serialize_entry

Positive = dg.DagsterType(
    name="Positive",
    type_check_fn=lambda _context, value: dg.TypeCheck(
        isinstance(value, int) and value > 0,
        description="must be positive",
        metadata={"got": value},
    ),
)


def events_of(result: dg.ExecuteInProcessResult, step_key: str) -> list[Any]:
    return [e for e in result.all_events if e.step_key == step_key]


def types_of(result: dg.ExecuteInProcessResult, step_key: str) -> list[str]:
    return [e.event_type.value for e in events_of(result, step_key)]


def test_a_failed_output_check_fails_the_step_before_the_value_is_stored() -> None:
    @dg.op(out=dg.Out(Positive))
    def make() -> int:
        return -3

    @dg.op
    def use(x: int) -> int:
        return x

    @dg.job
    def pipeline() -> None:
        use(make())

    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    assert types_of(result, "make") == ["STEP_START", "STEP_OUTPUT", "STEP_FAILURE"]
    output = events_of(result, "make")[1]
    assert (
        output.message == 'Yielded output "result" of type "Positive". Warning! Type check failed.'
    )
    check = output.event_specific_data.type_check_data
    assert (check.success, check.label, check.description, check.metadata) == (
        False,
        "result",
        "must be positive",
        {"got": -3},
    )
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cls_name == "DagsterTypeCheckDidNotPass"
    assert 'Type check failed for step output "result" - expected type "Positive".' in (
        error.message
    )
    assert result.is_node_skipped("use")


def test_raise_on_error_raises_the_type_check_failure_itself() -> None:
    @dg.op
    def make() -> Positive:  # type: ignore[valid-type]
        return 0

    @dg.job
    def pipeline() -> None:
        make()

    with pytest.raises(dg.DagsterTypeCheckDidNotPass) as raised:
        pipeline.execute_in_process()
    assert str(raised.value) == (
        'Type check failed for step output "result" - expected type "Positive". '
        "Description: must be positive"
    )
    assert raised.value.metadata == {"got": 0}
    assert raised.value.dagster_type is Positive


def test_a_failed_input_check_fails_the_step_before_the_op_runs() -> None:
    ran: list[int] = []

    @dg.op
    def negative() -> int:
        return -1

    @dg.op(ins={"x": dg.In(Positive)})
    def use(x: int) -> None:
        ran.append(x)

    @dg.job
    def pipeline() -> None:
        use(negative())

    result = pipeline.execute_in_process(raise_on_error=False)
    assert ran == []
    assert types_of(result, "use") == ["STEP_START", "LOADED_INPUT", "STEP_FAILURE"]
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert 'Type check failed for step input "x" - expected type "Positive".' in message
    with pytest.raises(dg.DagsterTypeCheckDidNotPass, match='step input "x"'):
        pipeline.execute_in_process()


def test_passed_checks_are_recorded_on_step_input_and_step_output_events() -> None:
    @dg.op
    def one() -> int:
        return 1

    @dg.op
    def use(x: Positive) -> str:  # type: ignore[valid-type]
        return str(x)

    @dg.job
    def pipeline() -> None:
        use(one())

    result = pipeline.execute_in_process()
    assert types_of(result, "one") == [
        "STEP_START",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "STEP_SUCCESS",
    ]
    assert events_of(result, "one")[1].message == (
        'Yielded output "result" of type "Int". (Type check passed).'
    )
    assert types_of(result, "use") == [
        "STEP_START",
        "LOADED_INPUT",
        "STEP_INPUT",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "STEP_SUCCESS",
    ]
    step_input = events_of(result, "use")[2]
    assert step_input.message == 'Got input "x" of type "Positive". (Type check passed).'
    assert isinstance(step_input.event_specific_data, StepInputData)
    data = step_input.event_specific_data.type_check_data
    assert (data.success, data.label, data.metadata) == (True, "x", {"got": 1})
    assert result.output_for_node("use") == "1"


def test_untyped_inputs_and_outputs_are_not_checked_and_record_no_check() -> None:
    calls: list[str] = []

    @dg.op
    def make():  # type: ignore[no-untyped-def]
        calls.append("make")
        return "anything"

    @dg.op
    def use(x):  # type: ignore[no-untyped-def]
        return x

    @dg.job
    def pipeline() -> None:
        use(make())

    result = pipeline.execute_in_process()
    assert "STEP_INPUT" not in types_of(result, "use")
    output = events_of(result, "make")[1]
    assert output.message == 'Yielded output "result" of type "Any". (Type check passed).'
    assert output.event_specific_data.type_check_data is None
    assert make.input_types == {} and make.output_types == {}


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (list[int], [1, 2], [1, "a"]),
        (dg.List[int], [1], ["a"]),
        (dg.Optional[int], None, "a"),
        (int | None, 3, "a"),
        (dg.Dict[str, int], {"a": 1}, {"a": "b"}),
        (dg.Set[int], {1}, [1]),
        (dg.Tuple[int, str], (1, "a"), (1, 2)),
        (str, "a", 1),
        (Positive, 2, -2),
    ],
)
def test_annotations_are_checked_at_the_input_of_the_next_step(
    annotation: Any, good: Any, bad: Any
) -> None:
    def job_passing(value: Any) -> dg.JobDefinition:
        @dg.op
        def make():  # type: ignore[no-untyped-def]
            return value

        def use(x):  # type: ignore[no-untyped-def]
            return x

        use.__annotations__ = {"x": annotation}
        use_op = dg.op(use)

        @dg.job
        def pipeline() -> None:
            use_op(make())

        return pipeline

    assert job_passing(good).execute_in_process().output_for_node("use") == good
    result = job_passing(bad).execute_in_process(raise_on_error=False)
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cls_name == "DagsterTypeCheckDidNotPass"


def test_an_asset_s_return_annotation_is_checked() -> None:
    @dg.asset
    def count() -> int:
        return "many"  # type: ignore[return-value]

    result = dg.materialize([count], raise_on_error=False)
    assert not result.success
    assert result.get_asset_materialization_events() == []
    assert "must be a int" in result.get_step_failure_events()[0].step_failure_data.error.message


def test_a_check_function_that_raises_is_a_type_check_error_with_the_cause() -> None:
    def broken(_context: Any, _value: Any) -> bool:
        raise ValueError("boom")

    Broken = dg.DagsterType(name="Broken", type_check_fn=broken)

    @dg.op(out=dg.Out(Broken))
    def make() -> int:
        return 1

    @dg.job
    def pipeline() -> None:
        make()

    result = pipeline.execute_in_process(raise_on_error=False)
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cls_name == "DagsterTypeCheckError"
    assert "type-checking output \"result\" of op 'make'" in error.message
    assert error.cause is not None and error.cause.cls_name == "ValueError"
    with pytest.raises(dg.DagsterTypeCheckError) as raised:
        pipeline.execute_in_process()
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_type_check_sees_the_run_s_resources_and_run_id() -> None:
    seen: dict[str, Any] = {}

    def check(context: dg.TypeCheckContext, value: Any) -> bool:
        seen["limit"] = context.resources.limit
        seen["run_id"] = context.run_id
        return bool(value <= context.resources.limit)

    Limited = dg.DagsterType(name="Limited", type_check_fn=check, required_resource_keys={"limit"})

    @dg.op(out=dg.Out(Limited))
    def make() -> int:
        return 5

    @dg.job(resource_defs={"limit": dg.ResourceDefinition.hardcoded_resource(10)})
    def pipeline() -> None:
        make()

    assert make.required_resource_keys >= {"limit"}
    result = pipeline.execute_in_process()
    assert seen == {"limit": 10, "run_id": result.run_id}


def test_a_failed_type_check_is_not_retried() -> None:
    attempts: list[int] = []

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
    def make() -> Positive:  # type: ignore[valid-type]
        attempts.append(1)
        return -1

    @dg.job
    def pipeline() -> None:
        make()

    result = pipeline.execute_in_process(raise_on_error=False)
    assert len(attempts) == 1
    assert "STEP_UP_FOR_RETRY" not in types_of(result, "make")


def test_type_check_results_survive_the_event_log_s_serialization() -> None:
    @dg.op
    def make() -> Positive:  # type: ignore[valid-type]
        return 4

    @dg.op
    def use(x: Positive) -> None:  # type: ignore[valid-type]
        pass

    @dg.job
    def pipeline() -> None:
        use(make())

    result = pipeline.execute_in_process()
    for event in result.all_events:
        if event.event_type in (EventType.STEP_INPUT, EventType.STEP_OUTPUT):
            entry = EventLogEntry(
                result.run_id, 0.0, 10, event.message, "pipeline", event.step_key, event
            )
            back = deserialize_entry(serialize_entry(entry))
            assert back.event == event
            assert back.event is not None
            assert back.event.event_specific_data.type_check_data.metadata == {"got": 4}
    stored = [
        e.event
        for e in result.instance.all_logs(result.run_id)
        if e.event is not None and e.event.event_type is EventType.STEP_INPUT
    ]
    assert len(stored) == 1


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        yield instance


def test_type_checks_run_in_the_step_s_own_process_with_the_multiprocess_executor(
    instance: dg.Instance,
) -> None:
    @dg.op
    def make() -> int:
        return 2

    @dg.op
    def use(x: Positive) -> Positive:  # type: ignore[valid-type]
        return -x

    @dg.job(executor_def=dg.multiprocess_executor)
    def pipeline() -> None:
        use(make())

    result = pipeline.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    stored = [e.event for e in instance.all_logs(result.run_id) if e.event is not None]
    step_input = [e for e in stored if e.event_type is EventType.STEP_INPUT]
    assert [e.event_specific_data.type_check_data.success for e in step_input] == [True]
    outputs = [e for e in stored if e.event_type is EventType.STEP_OUTPUT and e.step_key == "use"]
    assert isinstance(outputs[0].event_specific_data, OutputData)
    assert outputs[0].event_specific_data.type_check_data.success is False
    failure = next(e for e in stored if e.event_type is EventType.STEP_FAILURE)
    assert failure.step_failure_data.error.cls_name == "DagsterTypeCheckDidNotPass"


def test_events_offer_their_step_input_and_step_output_data() -> None:
    @dg.op
    def make() -> Positive:  # type: ignore[valid-type]
        return 1

    @dg.op
    def use(x: Positive) -> None:  # type: ignore[valid-type]
        pass

    @dg.job
    def pipeline() -> None:
        use(make())

    result = pipeline.execute_in_process()
    by_type = {e.event_type: e for e in result.all_events if e.step_key in ("make", "use")}
    assert by_type[EventType.STEP_INPUT].step_input_data.input_name == "x"
    output = next(e for e in result.all_events if e.event_type is EventType.STEP_OUTPUT)
    assert output.step_output_data.type_check_data is not None
    assert output.step_output_data.type_check_data.success
    with pytest.raises(AttributeError, match="no step_input_data"):
        _ = output.step_input_data
    with pytest.raises(AttributeError, match="no step_output_data"):
        _ = by_type[EventType.HANDLED_OUTPUT].step_output_data
