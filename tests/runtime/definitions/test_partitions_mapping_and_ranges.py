"""Partitioned assets reading partitioned assets (partition mappings, the I/O manager loading
the right upstream partitions) and runs over a range of partitions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import kubedag as dg
from kubedag.definitions.partition_mapping import infer_partition_mapping
from kubedag.definitions.run_tags import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")
hourly = dg.HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
NOW = datetime(2024, 2, 1, tzinfo=ZoneInfo("UTC"))


def range_tags(start: str, end: str) -> dict[str, str]:
    return {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}


# -- mappings (pure) -------------------------------------------------------------------------------


def test_default_mappings_follow_the_reference() -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu"])
    assert infer_partition_mapping(None, daily, hourly) == dg.TimeWindowPartitionMapping()
    assert infer_partition_mapping(None, regions, regions) == dg.IdentityPartitionMapping()
    assert infer_partition_mapping(None, None, daily) == dg.AllPartitionMapping()


def test_daily_reads_24_hours_and_an_hour_reads_its_day() -> None:
    mapping = dg.TimeWindowPartitionMapping()
    hours = mapping.upstream_keys(["2024-01-02"], daily, hourly, NOW)
    assert hours[0] == "2024-01-02-00:00"
    assert hours[-1] == "2024-01-02-23:00"
    assert len(hours) == 24
    assert mapping.upstream_keys(["2024-01-02-13:00"], hourly, daily, NOW) == ["2024-01-02"]


def test_offsets_are_in_downstream_partitions() -> None:
    previous_day = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert previous_day.upstream_keys(["2024-01-05"], daily, daily, NOW) == ["2024-01-04"]
    window = dg.TimeWindowPartitionMapping(start_offset=-1)
    assert window.upstream_keys(["2024-01-05"], daily, daily, NOW) == ["2024-01-04", "2024-01-05"]
    with pytest.raises(dg.UnknownPartitionError, match="2023-12-31"):
        previous_day.upstream_keys(["2024-01-01"], daily, daily, NOW)
    lenient = dg.TimeWindowPartitionMapping(-1, -1, allow_nonexistent_upstream_partitions=True)
    assert lenient.upstream_keys(["2024-01-01"], daily, daily, NOW) == []


def test_static_last_and_multi_mappings() -> None:
    regions = dg.StaticPartitionsDefinition(["us-east", "us-west", "eu-1"])
    continents = dg.StaticPartitionsDefinition(["us", "eu"])
    static = dg.StaticPartitionMapping({"us-east": "us", "us-west": "us", "eu-1": "eu"})
    assert static.upstream_keys(["us"], continents, regions) == ["us-east", "us-west"]
    assert dg.LastPartitionMapping().upstream_keys(["x"], None, daily, NOW) == ["2024-01-31"]
    multi_def = dg.MultiPartitionsDefinition({"date": daily, "region": continents})
    mapping = dg.MultiPartitionMapping(
        {
            "date": dg.DimensionPartitionMapping("date", dg.TimeWindowPartitionMapping(-1, -1)),
            "region": dg.DimensionPartitionMapping("region", dg.IdentityPartitionMapping()),
        }
    )
    assert mapping.upstream_keys(["2024-01-05|eu"], multi_def, multi_def, NOW) == ["2024-01-04|eu"]


# -- the I/O manager loads what the mapping says ---------------------------------------------------


@dg.asset(partitions_def=hourly)
def clicks(context: dg.AssetExecutionContext) -> int:
    return int(context.partition_key[-5:-3])  # the hour


@dg.asset(partitions_def=daily)
def daily_clicks(clicks: dict[str, int]) -> int:
    return sum(clicks.values())


@dg.asset(partitions_def=hourly)
def hourly_share(context: dg.AssetExecutionContext, daily_clicks: int) -> float:
    return int(context.partition_key[-5:-3]) / daily_clicks


class RecordingIOManager(dg.ConfigurableIOManager):
    """Keeps values in a class-level dict by (asset, partition); records what inputs saw."""

    def handle_output(self, context: Any, obj: Any) -> None:
        STORED[(context.asset_key.to_user_string(), context.partition_key)] = obj

    def load_input(self, context: Any) -> Any:
        SEEN.append((context.asset_partition_keys, context.asset_partitions_time_window))
        name = context.upstream_output.asset_key.to_user_string()
        values = {key: STORED[(name, key)] for key in context.asset_partition_keys}
        return values if len(values) > 1 else next(iter(values.values()))


STORED: dict[tuple[str, str], Any] = {}
SEEN: list[Any] = []


def test_daily_asset_loads_its_24_hourly_partitions_from_files(tmp_path: Path) -> None:
    io = dg.FilesystemIOManager(base_dir=str(tmp_path))
    with dg.Instance.ephemeral(str(tmp_path / "home")) as instance:
        for hour in range(24):
            key = f"2024-01-02-{hour:02d}:00"
            assert dg.materialize(
                [clicks], partition_key=key, instance=instance, resources={"io_manager": io}
            ).success
        result = dg.materialize(
            [dg.AssetSpec("clicks", partitions_def=hourly), daily_clicks],
            partition_key="2024-01-02",
            instance=instance,
            resources={"io_manager": io},
        )
        assert result.success
        assert result.output_for_node("daily_clicks") == sum(range(24))
        assert (tmp_path / "daily_clicks" / "2024-01-02").exists()


def test_hourly_asset_loads_its_day_through_a_custom_io_manager(tmp_path: Path) -> None:
    STORED.clear()
    SEEN.clear()
    STORED[("daily_clicks", "2024-01-02")] = 240
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        result = dg.materialize(
            [dg.AssetSpec("daily_clicks", partitions_def=daily), hourly_share],
            partition_key="2024-01-02-06:00",
            instance=instance,
            resources={"io_manager": RecordingIOManager()},
        )
    assert result.success
    assert STORED[("hourly_share", "2024-01-02-06:00")] == 6 / 240
    [(keys, time_window)] = SEEN
    assert keys == ["2024-01-02"]
    assert time_window.start.isoformat() == "2024-01-02T00:00:00+00:00"
    assert time_window.end.isoformat() == "2024-01-03T00:00:00+00:00"


@dg.asset(partitions_def=daily)
def revenue(context: dg.AssetExecutionContext) -> int:
    return int(context.partition_key[-2:])


@dg.asset(
    partitions_def=daily,
    deps=[dg.AssetDep(revenue, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))],
)
def trend(context: dg.AssetExecutionContext) -> None:
    context.add_output_metadata({"window": str(context.partition_time_window.start)})


def test_an_asset_dep_carries_its_partition_mapping() -> None:
    [dep] = trend.specs[0].deps
    assert dep.partition_mapping == dg.TimeWindowPartitionMapping(start_offset=-1)


@dg.asset(
    partitions_def=daily,
    ins={"revenue": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))},
)
def two_day_revenue(revenue: dict[str, int]) -> int:
    return sum(revenue.values())


def test_an_asset_in_carries_its_partition_mapping_into_the_load(tmp_path: Path) -> None:
    [dep] = two_day_revenue.specs[0].deps
    assert dep.partition_mapping == dg.TimeWindowPartitionMapping(start_offset=-1)
    STORED.clear()
    SEEN.clear()
    STORED[("revenue", "2024-01-01")] = 1
    STORED[("revenue", "2024-01-02")] = 2
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        result = dg.materialize(
            [dg.AssetSpec("revenue", partitions_def=daily), two_day_revenue],
            partition_key="2024-01-02",
            instance=instance,
            resources={"io_manager": RecordingIOManager()},
        )
    assert result.success
    [(keys, _)] = SEEN
    assert keys == ["2024-01-01", "2024-01-02"]  # the day before, through the mapping
    assert STORED[("two_day_revenue", "2024-01-02")] == 3


# -- runs over a range ---------------------------------------------------------------------------------


@dg.asset(partitions_def=daily)
def events(context: dg.AssetExecutionContext) -> None:
    window = context.partition_time_window
    context.add_output_metadata(
        {
            "range": f"{context.partition_key_range.start}...{context.partition_key_range.end}",
            "keys": len(context.partition_keys),
            "window": f"{window.start.date()}..{window.end.date()}",
        }
    )


def test_one_run_over_a_range_sees_the_whole_range(tmp_path: Path) -> None:
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        result = dg.materialize(
            [events], instance=instance, tags=range_tags("2024-01-03", "2024-01-07")
        )
        assert result.success
        materializations = result.asset_materializations_for_node("events")
        assert [m.partition for m in materializations] == [
            "2024-01-03",
            "2024-01-04",
            "2024-01-05",
            "2024-01-06",
            "2024-01-07",
        ]
        metadata = materializations[0].metadata
        assert metadata["range"].value == "2024-01-03...2024-01-07"
        assert metadata["keys"].value == 5
        assert metadata["window"].value == "2024-01-03..2024-01-08"
        assert instance.get_materialized_partitions(dg.AssetKey("events")) == {
            "2024-01-03",
            "2024-01-04",
            "2024-01-05",
            "2024-01-06",
            "2024-01-07",
        }


def test_a_range_with_an_unknown_end_fails_before_the_run_exists(tmp_path: Path) -> None:
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        with pytest.raises(dg.InvalidConfigError, match="range end: '2099-01-01'"):
            dg.materialize([events], instance=instance, tags=range_tags("2024-01-03", "2099-01-01"))
        assert instance.get_runs() == []


def test_context_built_for_a_range_in_a_test() -> None:
    context = dg.build_asset_context(
        partition_key_range=dg.PartitionKeyRange("2024-01-01", "2024-01-02")
    )
    assert context.partition_key_range == dg.PartitionKeyRange("2024-01-01", "2024-01-02")
    with pytest.raises(AttributeError, match="not one partition_key"):
        _ = context.partition_key


def test_a_subset_of_unpartitioned_assets_runs_without_a_partition(tmp_path: Path) -> None:
    @dg.asset(partitions_def=daily)
    def daily_part() -> int:
        return 1

    @dg.asset
    def plain() -> int:
        return 2

    defs = dg.Definitions(assets=[daily_part, plain], jobs=[dg.define_asset_job("both")])
    job = defs.get_job_def("both")
    assert job.partitions_def == daily
    only_plain = job.with_asset_selection(dg.AssetSelection.assets(plain))
    assert only_plain.partitions_def is None
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        assert only_plain.execute_in_process(instance=instance).success
