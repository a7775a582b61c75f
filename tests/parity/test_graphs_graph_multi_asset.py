"""`@graph_multi_asset` (several assets from one graph) beside `@graph_asset`."""

import pytest

import kubedag as dg
from kubedag.errors import InvalidDefinitionError


@dg.op
def base() -> int:
    return 10


@dg.op
def double(x: int) -> int:
    return x * 2


@dg.op
def triple(x: int) -> int:
    return x * 3


@dg.graph_multi_asset(outs={"two": dg.AssetOut(), "three": dg.AssetOut(group_name="g")})
def nums() -> object:
    b = base()
    return {"two": double(b), "three": triple(b)}


@dg.asset
def total(two: int, three: int) -> int:
    return two + three


@dg.graph_asset
def single() -> object:
    return double(base())


def test_a_graph_multi_asset_materializes_each_out_as_an_asset() -> None:
    assert sorted(k.to_user_string() for k in nums.keys) == ["three", "two"]
    result = dg.materialize([nums, total, single])
    assert result.success
    assert result.output_for_node("nums", "two") == 20
    assert result.asset_value("three") == 30
    assert result.asset_value("total") == 50
    assert result.asset_value("single") == 20
    assert sorted(e.step_key for e in result.get_step_success_events()) == [
        "nums.base",
        "nums.double",
        "nums.triple",
        "single.base",
        "single.double",
        "total",
    ]
    materialized = {
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key
    }
    assert materialized == {"two", "three", "total", "single"}
    assert nums.group_names_by_key[dg.AssetKey("three")] == "g"


def test_outs_returned_as_a_tuple_are_taken_in_order() -> None:
    @dg.graph_multi_asset(outs={"first": dg.AssetOut(), "second": dg.AssetOut()})
    def ordered() -> object:
        b = base()
        return double(b), triple(b)

    result = dg.materialize([ordered])
    assert (result.asset_value("first"), result.asset_value("second")) == (20, 30)


def test_each_out_is_stored_with_its_own_io_manager(tmp_path: object) -> None:
    stored: dict[str, object] = {}

    class Recording(dg.IOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            stored[context.asset_key.to_user_string()] = obj

        def load_input(self, context: dg.InputContext) -> object:
            raise NotImplementedError

    @dg.graph_multi_asset(
        outs={"kept": dg.AssetOut(io_manager_key="recording"), "other": dg.AssetOut()}
    )
    def split() -> object:
        b = base()
        return {"kept": double(b), "other": triple(b)}

    result = dg.materialize([split], resources={"recording": Recording()})
    assert result.success
    assert stored == {"kept": 20}


def test_a_body_missing_an_out_is_refused() -> None:
    with pytest.raises(InvalidDefinitionError, match="one op output per out"):

        @dg.graph_multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
        def short() -> object:
            return {"a": base()}
