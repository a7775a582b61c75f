"""The reference's exception names catch what kubedag raises, situation by situation.

Each test writes the `except` clause reference code would write (checked against dagster
1.13.29) and makes kubedag raise into it.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

import kubedag as dg


def test_the_reference_names_are_kubedag_classes() -> None:
    assert dg.DagsterError is dg.KubedagError
    assert dg.DagsterInvalidDefinitionError is dg.InvalidDefinitionError
    assert dg.DagsterInvalidInvocationError is dg.InvalidInvocationError
    assert dg.DagsterInvalidSubsetError is dg.InvalidSelectionError
    assert dg.DagsterExecutionStepExecutionError is dg.StepExecutionError
    for name in (
        "DagsterInvalidDefinitionError",
        "DagsterInvalidInvocationError",
        "DagsterInvalidSubsetError",
        "DagsterInvariantViolationError",
        "DagsterExecutionStepNotFoundError",
        "DagsterStepOutputNotFoundError",
        "DagsterUserCodeExecutionError",
        "DagsterExecutionStepExecutionError",
        "DagsterSubprocessError",
    ):
        assert issubclass(getattr(dg, name), dg.DagsterError), name
    assert issubclass(dg.DagsterExecutionStepExecutionError, dg.DagsterUserCodeExecutionError)
    # Not an Exception, like KeyboardInterrupt: `except Exception` must not swallow it.
    assert issubclass(dg.DagsterExecutionInterruptedError, BaseException)
    assert not issubclass(dg.DagsterExecutionInterruptedError, Exception)


def test_is_user_code_error_tells_wrapped_user_errors_apart() -> None:
    user = ValueError("bad row")
    wrapped = dg.DagsterExecutionStepExecutionError(
        "Error occurred while executing op 'load'", step_key="load", user_exception=user
    )
    assert wrapped.is_user_code_error
    assert wrapped.user_exception is user
    assert wrapped.original_exc_info[1] is user
    assert (wrapped.step_key, wrapped.op_name, wrapped.op_def_name) == ("load",) * 3
    assert not dg.DagsterInvalidDefinitionError("x").is_user_code_error


def test_a_duplicate_asset_key_is_an_invalid_definition() -> None:
    @dg.asset(name="orders")
    def first() -> int:
        return 1

    @dg.asset(name="orders")
    def second() -> int:
        return 2

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="orders"):
        dg.Definitions(assets=[first, second])
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.materialize([first, second])


def test_an_invalid_name_and_a_missing_resource_are_invalid_definitions() -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError):

        @dg.asset(name="bad name!")
        def bad() -> int:
            return 1

    @dg.asset(required_resource_keys={"warehouse"})
    def needs_warehouse() -> int:
        return 1

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="warehouse"):
        dg.materialize([needs_warehouse])


def test_a_dependency_cycle_is_a_value_error_as_in_the_reference() -> None:
    @dg.asset(deps=["b"])
    def a() -> None: ...

    @dg.asset(deps=["a"])
    def b() -> None: ...

    with pytest.raises(ValueError, match="cycle"):
        dg.materialize([a, b])


def test_selecting_an_unknown_asset_is_an_invalid_definition_and_subset() -> None:
    @dg.asset
    def orders() -> int:
        return 1

    # The reference raises DagsterInvalidDefinitionError (failed to resolve the asset job)
    # from a DagsterInvalidSubsetError; kubedag's error is both.
    for caught in (dg.DagsterInvalidDefinitionError, dg.DagsterInvalidSubsetError):
        with pytest.raises(caught, match="nope"):
            dg.materialize([orders], selection=["nope"])
        job = dg.define_asset_job("orders_job", selection=["nope"])
        with pytest.raises(caught, match="nope"):
            dg.Definitions(assets=[orders], jobs=[job])


def test_an_unknown_op_selection_is_an_invalid_subset() -> None:
    @dg.op
    def extract() -> int:
        return 1

    @dg.job
    def etl() -> None:
        extract()

    with pytest.raises(dg.DagsterInvalidSubsetError, match="nope"):
        etl.execute_in_process(op_selection=["nope"])


def test_looking_up_a_missing_definition_is_an_invariant_violation() -> None:
    @dg.asset
    def orders() -> int:
        return 1

    defs = dg.Definitions(assets=[orders])
    lookups = [
        lambda: defs.get_job_def("nope"),
        lambda: defs.get_schedule_def("nope"),
        lambda: defs.get_sensor_def("nope"),
        lambda: defs.get_assets_def("nope"),
    ]
    for lookup in lookups:
        with pytest.raises(dg.DagsterInvariantViolationError, match="nope"):
            lookup()


def test_asking_a_result_for_what_it_does_not_have_is_an_invariant_violation() -> None:
    @dg.op(out={"maybe": dg.Out(is_required=False)})
    def sometimes():  # type: ignore[no-untyped-def]
        if False:
            yield dg.Output(1, "maybe")

    @dg.op
    def always() -> int:
        return 1

    @dg.job
    def pair() -> None:
        sometimes()
        always()

    result = pair.execute_in_process()
    assert result.success
    with pytest.raises(dg.DagsterInvariantViolationError, match="nope"):
        result.output_for_node("nope")
    with pytest.raises(dg.DagsterInvariantViolationError, match="nope"):
        result.output_for_node("always", "nope")
    with pytest.raises(dg.DagsterInvariantViolationError, match="maybe"):
        result.output_for_node("sometimes", "maybe")
    with pytest.raises(KeyError):  # what kubedag raised before: still caught
        result.output_for_node("nope")


def test_the_partition_key_of_an_unpartitioned_run_is_an_invariant_violation() -> None:
    @dg.asset
    def daily(context: dg.AssetExecutionContext) -> str:
        return str(context.partition_key)

    with pytest.raises(dg.DagsterInvariantViolationError, match="not partitioned"):
        dg.materialize([daily])


def test_returning_one_value_for_two_outputs_is_an_invariant_violation() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def two() -> int:
        return 1

    @dg.job
    def job() -> None:
        two()

    with pytest.raises(dg.DagsterInvariantViolationError, match="tuple"):
        job.execute_in_process()


def test_a_missing_required_output_is_step_output_not_found() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def half():  # type: ignore[no-untyped-def]
        yield dg.Output(1, "a")

    @dg.job
    def job() -> None:
        half()

    with pytest.raises(dg.DagsterStepOutputNotFoundError) as raised:
        job.execute_in_process()
    assert (raised.value.step_key, raised.value.output_name) == ("half", "b")


def test_raise_on_error_re_raises_the_user_exception_itself() -> None:
    @dg.op
    def boom() -> None:
        raise ValueError("bad thing")

    @dg.job
    def job() -> None:
        boom()

    with pytest.raises(ValueError, match=r"^bad thing$") as raised:
        job.execute_in_process()
    assert type(raised.value) is ValueError
    assert any(frame.name == "boom" for frame in traceback.extract_tb(raised.tb))

    @dg.asset
    def failing() -> None:
        raise dg.Failure(description="upstream file missing")

    with pytest.raises(dg.Failure, match="upstream file missing"):
        dg.materialize([failing])


def test_without_raise_on_error_the_failure_event_records_the_wrapper() -> None:
    @dg.asset
    def boom() -> None:
        raise ValueError("bad asset")

    result = dg.materialize([boom], raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None and error.cls_name == "StepExecutionError"
    assert error.cause is not None and error.cause.cls_name == "ValueError"
    assert "bad asset" in error.message


def test_a_step_key_not_in_the_plan_is_step_not_found_in_reexecution(tmp_path: Path) -> None:
    @dg.op
    def extract() -> int:
        return 1

    @dg.op
    def load(value: int) -> int:
        return value

    @dg.job
    def etl() -> None:
        load(extract())

    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    first = etl.execute_in_process(instance=instance)
    for selection in (["nope"], ["nope+"]):
        with pytest.raises(dg.DagsterExecutionStepNotFoundError) as raised:
            dg.execute_job(
                etl,
                instance,
                reexecution_options=dg.ReexecutionOptions(first.run_id, step_selection=selection),
            )
        assert raised.value.step_keys == ["nope"]


def test_a_step_process_that_dies_is_a_subprocess_error() -> None:
    from kubedag.execution.multiprocess.processes import StepProcessExitedError

    error = StepProcessExitedError("its process was killed", step_key="s", exit_code=-9)
    assert isinstance(error, dg.DagsterSubprocessError)
    assert [info.message for info in error.subprocess_error_infos] == ["its process was killed"]
