"""Inputs collected by `**kwargs`: every `ins` entry no named parameter takes, as in the reference.

`deps=` are never passed, the context, config and resource parameters keep working, and direct
invocation passes such inputs by name. `*args` is refused with a message that says what to do.
"""

from typing import Any

import pytest

import kubedag as dg


@dg.asset
def leaf_000() -> int:
    return 1


@dg.asset
def leaf_001() -> int:
    return 2


@dg.asset
def ordering_only() -> int:
    return 100


LEAVES = {"l000": dg.AssetIn("leaf_000"), "l001": dg.AssetIn("leaf_001")}

sink = dg.asset(name="sink", ins=LEAVES)(lambda **leaves: sorted(leaves.items()))


def test_every_declared_input_arrives_in_kwargs() -> None:
    result = dg.materialize_to_memory([leaf_000, leaf_001, sink])

    assert result.success
    assert result.asset_value("sink") == [("l000", 1), ("l001", 2)]
    assert sink.keys_by_input_name == {
        "l000": dg.AssetKey("leaf_000"),
        "l001": dg.AssetKey("leaf_001"),
    }
    graph = result.job_def.asset_graph
    assert set(graph.parents[dg.AssetKey("sink")]) == {
        dg.AssetKey("leaf_000"),
        dg.AssetKey("leaf_001"),
    }


class Threshold(dg.Config):
    minimum: int = 3


class Warehouse(dg.ConfigurableResource):
    name: str


@dg.asset(ins=LEAVES, deps=[ordering_only])
def mixed(
    context: dg.AssetExecutionContext,
    config: Threshold,
    warehouse: Warehouse,
    l000: int,
    **rest: int,
) -> dict[str, Any]:
    context.log.info("mixed ran")
    return {
        "l000": l000,
        "rest": rest,
        "minimum": config.minimum,
        "warehouse": warehouse.name,
        "run_id": context.run_id,
    }


def test_named_parameters_context_config_and_resources_still_work() -> None:
    result = dg.materialize_to_memory(
        [leaf_000, leaf_001, ordering_only, mixed],
        resources={"warehouse": Warehouse(name="wh")},
        run_config={"ops": {"mixed": {"config": {"minimum": 5}}}},
    )

    assert result.success
    value = result.asset_value("mixed")
    # The deps=-only upstream is not passed; the named input is not repeated in **rest.
    assert value == {
        "l000": 1,
        "rest": {"l001": 2},
        "minimum": 5,
        "warehouse": "wh",
        "run_id": result.run_id,
    }
    assert result.job_def.asset_graph.parents[dg.AssetKey("mixed")] == (
        dg.AssetKey("leaf_000"),
        dg.AssetKey("leaf_001"),
        dg.AssetKey("ordering_only"),
    )


def test_a_parameter_named_after_an_asset_and_kwargs_inputs_mix() -> None:
    @dg.asset(ins={"l001": dg.AssetIn("leaf_001")})
    def both(leaf_000: int, **rest: int) -> tuple[int, dict[str, int]]:
        return leaf_000, rest

    result = dg.materialize_to_memory([leaf_000, leaf_001, both])

    assert result.asset_value("both") == (1, {"l001": 2})
    assert both.keys_by_input_name == {
        "leaf_000": dg.AssetKey("leaf_000"),
        "l001": dg.AssetKey("leaf_001"),
    }


def test_multi_asset_takes_kwargs_inputs() -> None:
    @dg.multi_asset(outs={"low": dg.AssetOut(), "high": dg.AssetOut()}, ins=LEAVES)
    def split(**leaves: int) -> tuple[int, int]:
        return min(leaves.values()), max(leaves.values())

    result = dg.materialize_to_memory([leaf_000, leaf_001, split])

    assert (result.asset_value("low"), result.asset_value("high")) == (1, 2)


@dg.op
def inc(x: int) -> int:
    return x + 1


def test_graph_asset_takes_kwargs_inputs() -> None:
    @dg.graph_asset(ins={"start": dg.AssetIn("leaf_001")})
    def incremented(**inputs: Any) -> Any:
        return inc(inputs["start"])

    result = dg.materialize_to_memory([leaf_001, incremented])

    assert result.asset_value("incremented") == 3


@dg.op
def one() -> int:
    return 1


@dg.op
def two() -> int:
    return 2


@dg.op(ins={"a": dg.In(int), "b": dg.In(int, default_value=10), "c": dg.In(int)})
def combine(**values: int) -> list[tuple[str, int]]:
    return sorted(values.items())


def test_op_takes_kwargs_inputs_from_outputs_defaults_and_run_config() -> None:
    @dg.job
    def combined() -> None:
        combine(a=one(), c=two())

    result = combined.execute_in_process()
    assert result.output_for_node("combine") == [("a", 1), ("b", 10), ("c", 2)]

    @dg.job
    def from_config() -> None:
        combine(a=one(), b=two())

    configured = from_config.execute_in_process(
        run_config={"ops": {"combine": {"inputs": {"c": 7}}}}
    )
    assert configured.output_for_node("combine") == [("a", 1), ("b", 2), ("c", 7)]


def test_kwargs_inputs_cannot_be_bound_by_position_in_a_graph() -> None:
    with pytest.raises(dg.InvalidDefinitionError) as raised:

        @dg.job
        def positional() -> None:
            combine(one(), two())

    message = str(raised.value)
    assert "'combine' takes 0 positional input(s)" in message
    assert "Pass a=…, b=…, c=… by name" in message


def test_direct_invocation_passes_kwargs_inputs_by_name() -> None:
    # As in the reference: only the inputs given are passed, none is filled in or required.
    assert sink(l000=1, l001=2) == [("l000", 1), ("l001", 2)]
    assert sink(l000=1) == [("l000", 1)]
    assert combine(a=1) == [("a", 1)]
    context = dg.build_asset_context(
        resources={"warehouse": Warehouse(name="wh")}, asset_config={"minimum": 4}
    )
    value = mixed(context, l000=1, l001=2)
    assert value["l000"] == 1 and value["rest"] == {"l001": 2} and value["minimum"] == 4

    @dg.asset(ins=LEAVES)
    def named_first(context: dg.AssetExecutionContext, l000: int, **rest: int) -> Any:
        return l000, rest

    assert named_first(dg.build_asset_context(), 1, l001=2) == (1, {"l001": 2})

    with pytest.raises(dg.InvalidInvocationError, match="no input 'zzz'; its inputs: l000, l001"):
        sink(l000=1, zzz=3)
    with pytest.raises(dg.InvalidInvocationError, match=r"Pass l000=…, l001=… by name"):
        sink(1, 2)


def test_star_args_is_refused_with_the_fix() -> None:
    with pytest.raises(dg.InvalidDefinitionError) as raised:

        @dg.asset(ins=LEAVES)
        def positional(*leaves: int) -> None: ...

    message = str(raised.value)
    assert "asset 'positional': parameter '*leaves' is not supported" in message
    assert "'**kwargs'" in message
    with pytest.raises(dg.InvalidDefinitionError, match=r"op 'positional_op': parameter '\*args'"):

        @dg.op
        def positional_op(*args: int) -> None: ...


def test_ins_without_a_parameter_or_kwargs_is_still_an_error() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match=r"ins names 'l001'.*'\*\*kwargs'"):

        @dg.asset(ins=LEAVES)
        def narrow(l000: int) -> int:
            return l000

    with pytest.raises(dg.InvalidDefinitionError, match="reserved for the execution context"):

        @dg.asset(ins={"context": dg.AssetIn("leaf_000")})
        def shadowing(**inputs: int) -> None: ...


def test_checks_refuse_kwargs() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match=r"parameter '\*\*rest' is not supported"):

        @dg.asset_check(asset=leaf_000)
        def positive(leaf_000: int, **rest: int) -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=leaf_000 > 0)
