"""The reference's partition examples not covered in tests/reference: dynamic partitions and a
market calendar of weekdays without holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import kubedag as dg

region_partitions = dg.DynamicPartitionsDefinition(name="regions")


@dg.asset(partitions_def=region_partitions)
def regional_sales_data(context: dg.AssetExecutionContext) -> None:
    region = context.partition_key
    context.add_output_metadata({"region": region})


market_holidays = [
    datetime.strptime(d, "%Y-%m-%d") for d in ["2024-01-01", "2024-07-04", "2024-12-25"]
]
market_calendar = dg.TimeWindowPartitionsDefinition(
    start=datetime(2024, 1, 1),
    cron_schedule="0 0 * * 1-5",  # weekdays only
    fmt="%Y-%m-%d",
    exclusions=market_holidays,
)


def test_dynamic_partitions_discovered_at_run_time(tmp_path: Path) -> None:
    with dg.Instance.ephemeral(str(tmp_path)) as instance:
        with pytest.raises(dg.InvalidConfigError, match="'apac' is not a partition"):
            dg.materialize([regional_sales_data], partition_key="apac", instance=instance)
        instance.add_dynamic_partitions("regions", ["apac"])
        result = dg.materialize([regional_sales_data], partition_key="apac", instance=instance)
        assert result.success
        [materialization] = result.asset_materializations_for_node("regional_sales_data")
        assert materialization.partition == "apac"


def test_market_calendar_skips_weekends_and_holidays() -> None:
    keys = market_calendar.get_partition_keys(current_time=datetime(2024, 1, 10, tzinfo=UTC))
    assert keys == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
    ]
    july = market_calendar.get_partition_keys(current_time=datetime(2024, 7, 9, tzinfo=UTC))
    assert "2024-07-04" not in july
    assert july[-4:] == ["2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08"]
    assert not market_calendar.has_partition_key("2024-12-25")
