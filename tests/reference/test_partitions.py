"""Reference section "Partitions": daily, static and multi-dimensional partitions materialized one
key at a time, and the "process only new data" pattern built on daily partitions.

pandas is not installed, so the daily example writes its CSV with the csv module. Examples whose
body is `...` record what they saw with `context.add_output_metadata`, so a test can read it from
the materialization. Dynamic partitions (instance storage) and
`TimeWindowPartitionsDefinition(cron_schedule=…, exclusions=…)` are not covered yet.
"""

import csv
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(partitions_def=daily_partitions)
def daily_sales_data(context: dg.AssetExecutionContext) -> None:
    date = context.partition_key
    df = [
        {"date": date, "sales": sales}
        for sales in [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    ]
    os.makedirs("data/daily_sales", exist_ok=True)
    with open(f"data/daily_sales/sales_{date}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["date", "sales"])
        writer.writeheader()
        writer.writerows(df)


region_partitions = dg.StaticPartitionsDefinition(["us", "eu", "jp"])


@dg.asset(partitions_def=region_partitions)
def regional_sales_data(context: dg.AssetExecutionContext) -> None:
    region = context.partition_key
    context.add_output_metadata({"region": region})


two_dimensional = dg.MultiPartitionsDefinition(
    {
        "date": dg.DailyPartitionsDefinition(start_date="2024-01-01"),
        "region": dg.StaticPartitionsDefinition(["us", "eu", "jp"]),
    }
)


@dg.asset(partitions_def=two_dimensional)
def daily_regional_sales(context: dg.AssetExecutionContext) -> None:
    keys = context.partition_key.keys_by_dimension
    date = keys["date"]
    region = keys["region"]
    context.add_output_metadata({"date": date, "region": region})


# -- "Use partitions to process only new data" ------------------------------------------------


class FakeDatabase:
    """A table keyed by (date, id): upserting a row twice keeps one copy."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], dict[str, Any]] = {}
        self.fetched_dates: list[str] = []


database = FakeDatabase()


def fetch_data_for_date(date: str) -> list[dict[str, Any]]:
    database.fetched_dates.append(date)
    return [{"date": date, "id": i, "amount": 10 * i} for i in range(3)]


def upsert_to_database(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        database.rows[(row["date"], row["id"])] = row


daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(partitions_def=daily)
def incremental_table(context: dg.AssetExecutionContext):
    date = context.partition_key
    # Only process this date's data
    new_rows = fetch_data_for_date(date)
    upsert_to_database(new_rows)


@pytest.fixture
def fresh_database(monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
    fresh = FakeDatabase()
    monkeypatch.setattr(sys.modules[__name__], "database", fresh)
    return fresh


def _materialization(result: dg.ExecuteInProcessResult, node: str) -> dg.AssetMaterialization:
    [materialization] = result.asset_materializations_for_node(node)
    return materialization


# -- daily ----------------------------------------------------------------------------------


def test_daily_partition_writes_the_file_for_its_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    monkeypatch.chdir(tmp_path)

    result = dg.materialize([daily_sales_data], partition_key="2024-03-05", instance=instance)

    assert result.success
    assert _materialization(result, "daily_sales_data").partition == "2024-03-05"
    assert os.listdir(tmp_path / "data" / "daily_sales") == ["sales_2024-03-05.csv"]
    with open(tmp_path / "data" / "daily_sales" / "sales_2024-03-05.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["date"] for row in rows} == {"2024-03-05"}
    assert sum(int(row["sales"]) for row in rows) == 5500


def test_daily_partitions_start_at_the_start_date() -> None:
    keys = daily_partitions.get_partition_keys(current_time=datetime(2024, 1, 4, tzinfo=UTC))

    assert keys == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_date_before_the_start_is_not_a_partition(instance: dg.Instance) -> None:
    with pytest.raises(dg.InvalidConfigError, match="'2023-12-31' is not a partition"):
        dg.materialize([daily_sales_data], partition_key="2023-12-31", instance=instance)
    assert instance.get_runs() == []


def test_partitioned_asset_needs_a_partition_key(instance: dg.Instance) -> None:
    with pytest.raises(dg.InvalidConfigError, match="partition_key"):
        dg.materialize([daily_sales_data], instance=instance)


# -- static ---------------------------------------------------------------------------------


def test_static_partition_key_reaches_the_asset(instance: dg.Instance) -> None:
    result = dg.materialize([regional_sales_data], partition_key="eu", instance=instance)

    materialization = _materialization(result, "regional_sales_data")
    assert materialization.partition == "eu"
    assert materialization.metadata == {"region": dg.MetadataValue.text("eu")}
    assert region_partitions.get_partition_keys() == ["us", "eu", "jp"]


def test_unknown_static_partition_is_rejected(instance: dg.Instance) -> None:
    with pytest.raises(dg.InvalidConfigError, match="'fr' is not a partition"):
        dg.materialize([regional_sales_data], partition_key="fr", instance=instance)


# -- multi-dimensional ------------------------------------------------------------------------


def test_multi_partition_key_splits_by_dimension(instance: dg.Instance) -> None:
    key = dg.MultiPartitionKey({"date": "2024-02-01", "region": "jp"})

    result = dg.materialize([daily_regional_sales], partition_key=key, instance=instance)

    materialization = _materialization(result, "daily_regional_sales")
    assert {k: v.value for k, v in materialization.metadata.items()} == {
        "date": "2024-02-01",
        "region": "jp",
    }
    assert materialization.partition == key


def test_multi_partition_key_as_a_string_works_too(instance: dg.Instance) -> None:
    result = dg.materialize(
        [daily_regional_sales], partition_key="2024-02-02|us", instance=instance
    )

    metadata = _materialization(result, "daily_regional_sales").metadata
    assert {k: v.value for k, v in metadata.items()} == {
        "date": "2024-02-02",
        "region": "us",
    }


def test_multi_partition_key_with_an_unknown_region_is_rejected(instance: dg.Instance) -> None:
    with pytest.raises(dg.InvalidConfigError, match="is not a partition"):
        dg.materialize(
            [daily_regional_sales],
            partition_key=dg.MultiPartitionKey({"date": "2024-02-01", "region": "fr"}),
            instance=instance,
        )


# -- incremental processing ---------------------------------------------------------------


def test_each_partition_processes_only_its_date(
    fresh_database: FakeDatabase, instance: dg.Instance
) -> None:
    for date in ["2024-01-01", "2024-01-02", "2024-01-01"]:
        result = dg.materialize([incremental_table], partition_key=date, instance=instance)
        assert result.success

    assert fresh_database.fetched_dates == ["2024-01-01", "2024-01-02", "2024-01-01"]
    # Re-running a partition replaces its rows instead of adding copies.
    assert sorted(fresh_database.rows) == [
        ("2024-01-01", 0),
        ("2024-01-01", 1),
        ("2024-01-01", 2),
        ("2024-01-02", 0),
        ("2024-01-02", 1),
        ("2024-01-02", 2),
    ]
