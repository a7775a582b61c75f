"""I/O managers: where values go, and how later runs find them."""

import pickle
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


@dg.asset(key_prefix=["staging"])
def orders() -> list[int]:
    return [1, 2, 3]


@dg.asset(ins={"orders": dg.AssetIn(key_prefix=["staging"])})
def order_count(orders: list[int]) -> int:
    return len(orders)


def test_filesystem_default_persists_values_across_runs(tmp_path: Path) -> None:
    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    first = dg.materialize([orders, order_count], instance=instance, selection=[orders])
    assert first.success
    stored = tmp_path / "storage" / "staging" / "orders"
    assert pickle.loads(stored.read_bytes()) == [1, 2, 3]
    (materialization,) = first.asset_materializations_for_node("staging__orders")
    assert materialization.metadata["path"].value == str(stored)
    second = dg.materialize([orders, order_count], instance=instance, selection=[order_count])
    assert second.output_for_node("order_count") == 3
    assert [s for s in second.job_def.step_keys] == ["order_count"]


def test_loading_an_asset_never_materialized_explains_what_to_do(tmp_path: Path) -> None:
    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    result = dg.materialize(
        [orders, order_count], instance=instance, selection=[order_count], raise_on_error=False
    )
    message = result.get_step_failure_events()[0].step_failure_data.error.message  # type: ignore[union-attr]
    assert "asset 'staging/orders'" in message and "Materialize it first" in message


def test_none_annotated_assets_store_nothing(tmp_path: Path) -> None:
    @dg.asset
    def side_effect() -> None:
        return None

    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    result = dg.materialize([side_effect], instance=instance)
    assert [m.asset_key for m in result.asset_materializations_for_node("side_effect")] == [
        dg.AssetKey("side_effect")
    ]
    assert not (tmp_path / "storage" / "side_effect").exists()


class JsonLinesIOManager(dg.ConfigurableIOManager):
    root: str

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = Path(self.root, *context.asset_key.path).with_suffix(".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(str(x) for x in obj))
        context.add_output_metadata({"lines": len(obj)})

    def load_input(self, context: dg.InputContext) -> Any:
        path = Path(self.root, *context.upstream_output.asset_key.path).with_suffix(".txt")
        return [int(x) for x in path.read_text().splitlines()]


def test_custom_io_manager_by_key_and_its_metadata(tmp_path: Path) -> None:
    @dg.asset(io_manager_key="lines")
    def numbers() -> list[int]:
        return [4, 5]

    @dg.asset
    def doubled(numbers: list[int]) -> list[int]:
        return [n * 2 for n in numbers]

    result = dg.materialize(
        [numbers, doubled],
        resources={
            "lines": JsonLinesIOManager(root=str(tmp_path)),
            "io_manager": dg.InMemoryIOManager(),
        },
    )
    assert (tmp_path / "numbers.txt").read_text() == "4\n5"
    assert result.output_for_node("doubled") == [8, 10]
    (materialization,) = result.asset_materializations_for_node("numbers")
    assert materialization.metadata == {"lines": dg.IntMetadataValue(2)}


def test_execute_in_process_keeps_op_outputs_in_memory() -> None:
    @dg.op
    def make() -> dict[str, int]:
        return {"a": 1}

    @dg.op
    def use(value: dict[str, int]) -> int:
        return value["a"] + 1

    @dg.job
    def chain():
        use(make())

    result = chain.execute_in_process()
    assert result.output_for_node("make") == {"a": 1}
    assert result.output_for_node("use") == 2


def test_partitioned_values_are_stored_per_partition(tmp_path: Path) -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu"])

    @dg.asset(partitions_def=regions)
    def sales(context: dg.AssetExecutionContext) -> str:
        return f"sales-{context.partition_key}"

    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    for key in ("us", "eu"):
        result = dg.materialize([sales], partition_key=key, instance=instance)
        (event,) = result.get_asset_materialization_events()
        assert event.partition == key
        assert event.materialization.partition == key
    assert pickle.loads((tmp_path / "storage" / "sales" / "eu").read_bytes()) == "sales-eu"


def test_in_memory_manager_errors_clearly_for_values_from_another_run() -> None:
    # As in the reference, raise_on_error re-raises the I/O manager's own exception.
    with pytest.raises(LookupError, match="In-memory outputs live only"):
        dg.materialize_to_memory([orders, order_count], selection=[order_count])


def test_failure_event_says_the_input_failed_to_load(tmp_path: Path) -> None:
    instance = dg.Instance.ephemeral(tempdir=str(tmp_path))
    result = dg.materialize(
        [orders, order_count], instance=instance, selection=[order_count], raise_on_error=False
    )
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    assert "while loading input 'orders' of asset 'order_count'" in error.message
    with pytest.raises(LookupError, match="No stored value for asset 'staging/orders'"):
        dg.materialize([orders, order_count], instance=instance, selection=[order_count])
