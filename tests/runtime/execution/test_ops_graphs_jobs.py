"""Ops, graphs and jobs: composition, aliases, several outputs, fan-in, nested graphs."""

import pytest

import kubedag as dg
from kubedag.records.events import EventType


@dg.op
def one() -> int:
    return 1


@dg.op
def add_one(value: int) -> int:
    return value + 1


def test_the_same_op_twice_gets_distinct_node_names() -> None:
    @dg.job
    def twice():
        add_one(add_one(one()))

    result = twice.execute_in_process()
    assert twice.step_keys == ["one", "add_one", "add_one_2"]
    assert result.output_for_node("add_one_2") == 3


def test_alias_and_tags() -> None:
    @dg.job
    def aliased():
        add_one.alias("plus").tag({"team": "core"})(one())

    assert aliased.step_keys == ["one", "plus"]
    assert aliased.get_step("plus").tags == {"team": "core"}
    assert aliased.execute_in_process().output_for_node("plus") == 2


def test_several_outputs_and_fan_in() -> None:
    @dg.op(out={"low": dg.Out(), "high": dg.Out()})
    def split() -> tuple[int, int]:
        return 1, 10

    @dg.op
    def total(values: list[int]) -> int:
        return sum(values)

    @dg.job
    def fan():
        low, high = split()
        total([add_one(low), add_one(high)])

    result = fan.execute_in_process()
    assert result.output_for_node("split", "high") == 10
    assert result.output_for_node("total") == 13


def test_yielded_outputs_with_metadata() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out(is_required=False)})
    def emits():  # type: ignore[no-untyped-def]
        yield dg.Output(5, output_name="a", metadata={"why": "test"})

    @dg.job
    def emitting():
        emits()

    result = emitting.execute_in_process()
    assert result.output_for_node("emits", "a") == 5
    outputs = [e for e in result.all_events if e.event_type is EventType.STEP_OUTPUT]
    assert [e.event_specific_data.output_name for e in outputs] == ["a"]


def test_missing_required_output_fails_the_step() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def half():  # type: ignore[no-untyped-def]
        yield dg.Output(1, output_name="a")

    @dg.job
    def halfway():
        half()

    result = halfway.execute_in_process(raise_on_error=False)
    assert (
        "required output 'b'" in result.get_step_failure_events()[0].step_failure_data.error.message
    )  # type: ignore[union-attr]


def test_graph_inputs_from_run_config_and_input_values() -> None:
    @dg.graph
    def incremented(start: int):
        return add_one(start)

    job = incremented.to_job(name="incremented_job")
    assert job.execute_in_process(input_values={"start": 4}).output_for_node("add_one") == 5
    result = job.execute_in_process(run_config={"ops": {"add_one": {"inputs": {"value": 41}}}})
    assert result.output_for_node("add_one") == 42
    with pytest.raises(dg.InvalidConfigError, match=r"ops\.add_one\.inputs\.value"):
        job.execute_in_process()


def test_graph_asset_steps_are_namespaced() -> None:
    @dg.graph_asset
    def complex_asset():
        return add_one(one())

    @dg.asset
    def downstream(complex_asset: int) -> int:
        return complex_asset * 10

    result = dg.materialize([complex_asset, downstream])
    assert result.job_def.step_keys == ["complex_asset.one", "complex_asset.add_one", "downstream"]
    assert result.output_for_node("complex_asset") == 2
    assert result.output_for_node("downstream") == 20
    (materialization,) = result.asset_materializations_for_node("complex_asset")
    assert materialization.asset_key == dg.AssetKey("complex_asset")


def test_composition_errors_are_clear() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="pass constants through config"):

        @dg.job
        def bad():
            add_one(5)

    with pytest.raises(dg.InvalidDefinitionError, match="has no input 'nope'"):

        @dg.job
        def bad_kwarg():
            add_one(nope=one())

    with pytest.raises(dg.InvalidDefinitionError, match="inside another @graph"):

        @dg.graph
        def g():
            return one()

        g()


def test_op_selection_runs_a_subset() -> None:
    @dg.job
    def both():
        one()
        add_one.alias("other")(one.alias("source")())

    result = both.execute_in_process(op_selection=["one"])
    assert [e.step_key for e in result.get_step_success_events()] == ["one"]
    with pytest.raises(dg.InvalidSelectionError, match="'ghost'"):
        both.execute_in_process(op_selection=["ghost"])


def test_executor_definition_and_configured() -> None:
    class Recording(dg.Executor):
        def __init__(self) -> None:
            self.inner = dg.in_process_executor.create(None, {}, None)

        def execute(self, plan_context, execution_plan):  # type: ignore[no-untyped-def]
            yield from self.inner.execute(plan_context, execution_plan)

        @property
        def retries(self):  # type: ignore[no-untyped-def]
            return self.inner.retries

    @dg.executor(name="recording")
    def recording_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
        assert init_context.executor_config == {"flag": True}
        return Recording()

    configured = recording_executor.configured({"flag": True}, name="recording_on")
    assert configured.name == "recording_on"
    assert isinstance(configured.create(None, {}, None), Recording)

    @dg.job(executor_def=configured)
    def custom():
        one()

    @dg.job
    def default():
        one()

    defs = dg.Definitions(jobs=[custom, default], executor=dg.in_process_executor)
    assert defs.get_job_def("custom").executor_def is configured
    assert defs.get_job_def("default").executor_def is dg.in_process_executor
