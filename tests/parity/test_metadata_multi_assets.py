"""Multi-asset behaviours: `internal_asset_deps`, subsetting with `can_subset=True`,
`AssetsDefinition.get_asset_spec`/`.with_attributes`/`.map_asset_specs`, `dg.map_asset_specs`,
and `AssetSpec.with_io_manager_key`/`.replace_attributes`/`.merge_attributes` (behaviour checked
against the reference, dagster 1.13.29)."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubedag as dg


@pytest.fixture
def instance(tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_config({}, home=tmp_path / "home")


RAN: list[tuple[list[str], list[str]]] = []


@dg.multi_asset(
    outs={
        "orders": dg.AssetOut(is_required=False),
        "totals": dg.AssetOut(is_required=False),
        "report": dg.AssetOut(is_required=False),
    },
    deps=["raw"],
    internal_asset_deps={
        "orders": {dg.AssetKey("raw")},
        "totals": {dg.AssetKey("orders")},
        "report": set(),
    },
    can_subset=True,
)
def warehouse(context: dg.AssetExecutionContext):  # type: ignore[no-untyped-def]
    RAN.append(
        (
            sorted(context.selected_output_names),
            sorted(k.to_user_string() for k in context.selected_asset_keys),
        )
    )
    for name in sorted(context.selected_output_names):
        yield dg.Output(len(name), output_name=name)


def test_internal_asset_deps_give_each_output_its_own_dependencies() -> None:
    assert {
        k.to_user_string(): {d.to_user_string() for d in v} for k, v in warehouse.asset_deps.items()
    } == {
        "orders": {"raw"},
        "totals": {"orders"},
        "report": set(),
    }
    graph_defs = dg.Definitions(assets=[warehouse, dg.AssetSpec("raw")])
    assert graph_defs.asset_graph.parents[dg.AssetKey("totals")] == (dg.AssetKey("orders"),)


def test_internal_asset_deps_are_checked() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="'zz', which is not one of its outs"):

        @dg.multi_asset(outs={"a": dg.AssetOut()}, internal_asset_deps={"zz": set()})
        def bad() -> None: ...

    with pytest.raises(dg.InvalidDefinitionError, match=r"\['nope'\].*neither inputs"):

        @dg.multi_asset(outs={"a": dg.AssetOut()}, internal_asset_deps={"a": {dg.AssetKey("nope")}})
        def worse() -> None: ...


def test_a_subset_runs_only_the_selected_outputs(instance: dg.Instance) -> None:
    RAN.clear()
    raw = dg.AssetSpec("raw")
    result = dg.materialize([warehouse, raw], selection=["totals"], instance=instance)
    assert result.success
    assert RAN == [(["totals"], ["totals"])]
    assert [m.asset_key for m in result.asset_materializations_for_node("warehouse")] == [
        dg.AssetKey("totals")
    ]
    again = dg.materialize([warehouse, raw], selection=["orders", "report"], instance=instance)
    assert RAN[-1] == (["orders", "report"], ["orders", "report"])
    assert {
        m.asset_key.to_user_string() for m in again.asset_materializations_for_node("warehouse")
    } == {"orders", "report"}


def test_without_can_subset_a_partial_selection_is_refused() -> None:
    @dg.multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
    def pair(context: dg.AssetExecutionContext) -> tuple[int, int]:
        assert context.selected_output_names == {"a", "b"}
        return 1, 2

    with pytest.raises(dg.InvalidSelectionError, match="cannot produce a subset"):
        dg.materialize([pair], selection=["a"])
    assert dg.materialize([pair]).success


def test_get_asset_spec_and_with_attributes() -> None:
    spec = warehouse.get_asset_spec(dg.AssetKey("totals"))
    assert spec.key == dg.AssetKey("totals") and [d.asset_key for d in spec.deps] == [
        dg.AssetKey("orders")
    ]

    @dg.asset
    def single() -> int:
        return 1

    assert single.get_asset_spec().key == dg.AssetKey("single")
    renamed = warehouse.with_attributes(
        asset_key_replacements={dg.AssetKey("orders"): dg.AssetKey(["shop", "orders"])},
        group_names_by_key={dg.AssetKey("report"): "reporting"},
        tags_by_key={dg.AssetKey("totals"): {"tier": "gold"}},
    )
    assert renamed.keys == (
        dg.AssetKey(["shop", "orders"]),
        dg.AssetKey("totals"),
        dg.AssetKey("report"),
    )
    totals = renamed.get_asset_spec(dg.AssetKey("totals"))
    assert [d.asset_key for d in totals.deps] == [dg.AssetKey(["shop", "orders"])]  # deps follow
    assert totals.tags == {"tier": "gold"}
    assert renamed.get_asset_spec(dg.AssetKey("report")).group_name == "reporting"
    assert warehouse.keys[0] == dg.AssetKey("orders")  # the original is unchanged
    result = dg.materialize(
        [renamed, dg.AssetSpec("raw")], selection=[dg.AssetKey(["shop", "orders"])]
    )
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [
        dg.AssetKey(["shop", "orders"])
    ]


def test_map_asset_specs_over_definitions_and_specs() -> None:
    def owned(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.merge_attributes(owners=["team:data"], tags={"domain": "sales"})

    mapped_warehouse, mapped_external = dg.map_asset_specs(owned, [warehouse, dg.AssetSpec("raw")])
    assert all(s.owners == ("team:data",) for s in mapped_warehouse.specs)
    assert mapped_external.tags == {"domain": "sales"}
    assert warehouse.specs[0].owners == ()
    with pytest.raises(dg.InvalidDefinitionError, match="must not change keys"):
        dg.map_asset_specs(lambda s: s.replace_attributes(key="z"), [warehouse])
    with pytest.raises(dg.InvalidDefinitionError, match=r"neither a dg\.AssetSpec"):
        dg.map_asset_specs(owned, ["not an asset"])
    assert dg.materialize([mapped_warehouse, mapped_external]).success


def test_asset_spec_attribute_helpers() -> None:
    spec = dg.AssetSpec("q", deps=["a"], tags={"t": "1"}, kinds={"python"})
    merged = spec.merge_attributes(deps=["b"], metadata={"m": 1}, tags={"u": "2"}, kinds={"sql"})
    assert [d.asset_key.to_user_string() for d in merged.deps] == ["a", "b"]
    assert merged.tags == {"t": "1", "u": "2"} and merged.kinds == {"python", "sql"}
    assert merged.metadata == {"m": 1}
    replaced = spec.replace_attributes(description="d", group_name="g")
    assert (replaced.description, replaced.group_name, replaced.deps) == ("d", "g", spec.deps)
    assert spec.with_io_manager_key("my_io").metadata == {"dagster/io_manager_key": "my_io"}


def test_with_io_manager_key_picks_the_io_manager_of_an_external_asset_and_a_spec() -> None:
    class Constant(dg.IOManager):
        stored: dict[str, object] = {}

        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            Constant.stored[context.asset_key.to_user_string()] = obj

        def load_input(self, context: dg.InputContext) -> int:
            return 40

    external = dg.AssetSpec("vendor").with_io_manager_key("vendor_io")

    @dg.asset
    def plus_two(vendor: int) -> int:
        return vendor + 2

    result = dg.materialize([external, plus_two], resources={"vendor_io": Constant()})
    assert result.output_for_node("plus_two") == 42

    @dg.multi_asset(specs=[dg.AssetSpec("kept").with_io_manager_key("vendor_io")])
    def keeper() -> dg.MaterializeResult:
        return dg.MaterializeResult(asset_key="kept", value=7)

    assert dg.materialize([keeper], resources={"vendor_io": Constant()}).success
    assert Constant.stored["kept"] == 7
