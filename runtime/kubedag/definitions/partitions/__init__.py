"""Partitions definitions: how an asset splits into independently materialized pieces.

- `StaticPartitionsDefinition`: a fixed list of keys.
- `TimeWindowPartitionsDefinition` and its hourly, daily, weekly and monthly forms: windows of
  time between cron ticks; only complete windows exist.
- `DynamicPartitionsDefinition`: keys stored in the instance, added and removed at run time.
- `MultiPartitionsDefinition`: the cross product of two of those.

How a downstream partition maps to upstream ones lives in `kubedag.definitions.partition_mapping`.
"""

from kubedag.definitions.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    UnknownPartitionError,
)
from kubedag.definitions.partitions.dynamic import DynamicPartitionsDefinition
from kubedag.definitions.partitions.multi import (
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionDimensionDefinition,
)
from kubedag.definitions.partitions.static import StaticPartitionsDefinition
from kubedag.definitions.partitions.time_window import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    ScheduleType,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

__all__ = [
    "DailyPartitionsDefinition",
    "DynamicPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "PartitionDimensionDefinition",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "ScheduleType",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "UnknownPartitionError",
    "WeeklyPartitionsDefinition",
]
