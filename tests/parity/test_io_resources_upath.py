"""`UPathIOManager` on universal-pathlib paths: local, and S3 against a real S3-API server."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

import kubedag as dg
from tests.fixtures.s3 import S3Server


class JsonUPathIOManager(dg.UPathIOManager):
    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: Any) -> None:
        with path.open("w") as handle:
            json.dump(obj, handle)

    def load_from_path(self, context: dg.InputContext, path: Any) -> Any:
        with path.open("r") as handle:
            return json.load(handle)


class PickleUPathIOManager(dg.UPathIOManager):
    extension = ".pkl"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: Any) -> None:
        with path.open("wb") as handle:
            pickle.dump(obj, handle)

    def load_from_path(self, context: dg.InputContext, path: Any) -> Any:
        with path.open("rb") as handle:
            return pickle.load(handle)

    def get_metadata(self, context: dg.OutputContext, obj: Any) -> dict[str, Any]:
        return {"items": len(obj)} if isinstance(obj, list) else {}


def test_local_base_path_stores_assets_at_their_key_path(tmp_path: Path) -> None:
    @dg.asset(key_prefix="raw")
    def orders() -> list[int]:
        return [1, 2, 3]

    @dg.asset(ins={"orders": dg.AssetIn(key=["raw", "orders"])})
    def order_count(orders: list[int]) -> int:
        return len(orders)

    manager = JsonUPathIOManager(base_path=UPath(tmp_path))
    result = dg.materialize([orders, order_count], resources={"io_manager": manager})
    assert result.success
    assert json.loads((tmp_path / "raw" / "orders.json").read_text()) == [1, 2, 3]
    assert json.loads((tmp_path / "order_count.json").read_text()) == 3
    materialization = result.asset_materializations_for_node("raw__orders")[0]
    assert str(materialization.metadata["path"].value).endswith("raw/orders.json")


def test_a_pathlib_base_path_works_too_and_op_outputs_go_under_the_run(tmp_path: Path) -> None:
    manager = PickleUPathIOManager(base_path=tmp_path)

    @dg.op
    def make() -> list[str]:
        return ["a", "b"]

    @dg.op
    def join(items: list[str]) -> str:
        return "".join(items)

    @dg.job(resource_defs={"io_manager": manager})
    def op_job() -> None:
        join(make())

    result = op_job.execute_in_process()
    assert result.output_for_node("join") == "ab"
    stored = tmp_path / result.run_id / "make" / "result.pkl"
    assert pickle.loads(stored.read_bytes()) == ["a", "b"]


def test_partitioned_asset_one_path_per_partition_and_a_dict_for_several(
    tmp_path: Path,
) -> None:
    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-04")

    @dg.asset(partitions_def=days)
    def daily(context: dg.AssetExecutionContext) -> list[str]:
        return [context.partition_key]

    @dg.asset(
        ins={"daily": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    )
    def summary(daily: dict[str, list[str]]) -> list[str]:
        return sorted(k for k in daily)

    manager = PickleUPathIOManager(base_path=UPath(tmp_path))
    resources = {"io_manager": manager}
    for day in days.get_partition_keys():
        run = dg.materialize([daily], partition_key=day, resources=resources)
        assert run.asset_materializations_for_node("daily")[0].metadata["items"].value == 1
    assert sorted(p.name for p in (tmp_path / "daily").iterdir()) == [
        "2024-01-01.pkl",
        "2024-01-02.pkl",
        "2024-01-03.pkl",
    ]
    result = dg.materialize([daily, summary], selection=[summary], resources=resources)
    assert result.output_for_node("summary") == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_multi_partition_keys_become_nested_directories(tmp_path: Path) -> None:
    grid = dg.MultiPartitionsDefinition(
        {
            "color": dg.StaticPartitionsDefinition(["red"]),
            "size": dg.StaticPartitionsDefinition(["s", "m"]),
        }
    )
    manager = JsonUPathIOManager(base_path=UPath(tmp_path))
    for key in grid.get_partition_keys():
        manager.handle_output(
            dg.build_output_context(
                asset_key="shirts", partition_key=key, asset_partitions_def=grid
            ),
            str(key),
        )
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json"))
    assert files == ["shirts/red/m.json", "shirts/red/s.json"]
    both = dg.build_input_context(
        asset_key="shirts",
        asset_partition_key_range=dg.PartitionKeyRange(
            grid.get_partition_keys()[0], grid.get_partition_keys()[-1]
        ),
        asset_partitions_def=grid,
    )
    loaded = manager.load_input(both)
    assert {str(k): v for k, v in loaded.items()} == {
        str(k): str(k) for k in grid.get_partition_keys()
    }


def test_missing_partitions_fail_unless_allowed(tmp_path: Path) -> None:
    letters = dg.StaticPartitionsDefinition(["a", "b"])
    manager = JsonUPathIOManager(base_path=UPath(tmp_path))
    manager.handle_output(
        dg.build_output_context(
            asset_key="letters", partition_key="a", asset_partitions_def=letters
        ),
        "A",
    )
    both = dict(
        asset_key="letters",
        asset_partition_key_range=dg.PartitionKeyRange("a", "b"),
        asset_partitions_def=letters,
    )
    with pytest.raises(FileNotFoundError, match="letters"):
        manager.load_input(dg.build_input_context(**both))  # type: ignore[arg-type]
    allowed = dg.build_input_context(
        **both,
        definition_metadata={"allow_missing_partitions": True},  # type: ignore[arg-type]
    )
    assert manager.load_input(allowed) == {"a": "A"}


def test_s3_base_path_against_a_real_s3_server(s3_server: S3Server, s3_bucket: str) -> None:
    base = UPath(f"s3://{s3_bucket}/warehouse", endpoint_url=s3_server.endpoint_url)
    manager = PickleUPathIOManager(base_path=base)
    colors = dg.StaticPartitionsDefinition(["red", "blue"])

    @dg.asset(partitions_def=colors)
    def paint(context: dg.AssetExecutionContext) -> list[str]:
        return [context.partition_key] * 2

    @dg.asset
    def palette(paint: dict[str, list[str]]) -> int:
        return sum(len(v) for v in paint.values())

    for color in colors.get_partition_keys():
        assert dg.materialize(
            [paint], partition_key=color, resources={"io_manager": manager}
        ).success
    s3 = s3_server.client()
    try:
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
        assert keys == ["warehouse/paint/blue.pkl", "warehouse/paint/red.pkl"]
        body = s3.get_object(Bucket=s3_bucket, Key="warehouse/paint/red.pkl")["Body"].read()
        assert pickle.loads(body) == ["red", "red"]
    finally:
        s3.close()
    result = dg.materialize(
        [paint, palette], selection=[palette], resources={"io_manager": manager}
    )
    assert result.output_for_node("palette") == 4
    materialization = result.asset_materializations_for_node("palette")[0]
    assert materialization.metadata["path"].value == f"s3://{s3_bucket}/warehouse/palette.pkl"
    loaded = manager.load_input(dg.build_input_context(asset_key="palette"))
    assert loaded == 4
