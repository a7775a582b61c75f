"""Types where assets and direct calls meet them: an op called directly checks its typed
arguments and its return value (as the reference does), `AssetIn(dagster_type=...)` types an
asset's input, and `AssetIn(dagster_type=dg.Nothing)` makes an upstream asset a dependency only.
"""

import pytest

import kubedag as dg


def test_a_directly_called_op_checks_its_typed_arguments_and_return_value() -> None:
    @dg.op
    def wrong(x: int) -> int:
        return "a"  # type: ignore[return-value]

    with pytest.raises(dg.DagsterTypeCheckDidNotPass) as raised:
        wrong(1)
    assert str(raised.value) == (
        'Type check failed for op "wrong" output "result" - expected type "Int". '
        'Description: Value "a" of python type "str" must be a int.'
    )
    with pytest.raises(dg.DagsterTypeCheckDidNotPass, match='op "wrong" input "x"'):
        wrong("s")  # type: ignore[arg-type]

    @dg.op
    def right(x: int) -> int:
        return x + 1

    assert right(1) == 2


def test_a_directly_called_op_with_several_outputs_checks_each() -> None:
    @dg.op(out={"a": dg.Out(int), "b": dg.Out(str)})
    def pair():  # type: ignore[no-untyped-def]
        return 1, 2

    with pytest.raises(dg.DagsterTypeCheckDidNotPass, match='output "b"'):
        pair()


def test_an_asset_in_with_a_type_checks_the_loaded_value() -> None:
    @dg.asset
    def upstream() -> str:
        return "text"

    @dg.asset(ins={"upstream": dg.AssetIn(dagster_type=int)})
    def downstream(upstream):  # type: ignore[no-untyped-def]
        return upstream

    result = dg.materialize([upstream, downstream], raise_on_error=False)
    assert result.is_node_failed("downstream")
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert 'step input "upstream"' in error.message


def test_an_asset_in_of_type_nothing_is_a_dependency_without_a_value() -> None:
    order: list[str] = []

    @dg.asset
    def upstream() -> int:
        order.append("upstream")
        return 1

    @dg.asset(ins={"upstream": dg.AssetIn(dagster_type=dg.Nothing)})
    def downstream() -> int:
        order.append("downstream")
        return 2

    assert dg.AssetKey("upstream") in downstream.dependency_keys
    result = dg.materialize([upstream, downstream])
    assert result.success
    assert order == ["upstream", "downstream"]
    assert "LOADED_INPUT" not in [
        e.event_type.value for e in result.all_events if e.step_key == "downstream"
    ]
