"""kubedag: data orchestration around software-defined assets, Kubernetes-native.

`import kubedag as dg` gives the user-facing names of the reference system. Names are loaded on
first use (PEP 562 `__getattr__`), so `import kubedag` stays fast and a process that never
touches `dg.Config` never imports pydantic.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # definitions
    "AssetKey": "kubedag.definitions.asset_key",
    "asset": "kubedag.definitions.assets",
    "multi_asset": "kubedag.definitions.assets",
    "graph_asset": "kubedag.definitions.assets",
    "AssetSpec": "kubedag.definitions.assets",
    "AssetDep": "kubedag.definitions.assets",
    "AssetsDefinition": "kubedag.definitions.assets",
    "AssetIn": "kubedag.definitions.io_specs",
    "AssetOut": "kubedag.definitions.io_specs",
    "In": "kubedag.definitions.io_specs",
    "Out": "kubedag.definitions.io_specs",
    "op": "kubedag.definitions.op",
    "OpDefinition": "kubedag.definitions.op",
    "graph": "kubedag.definitions.graph",
    "GraphDefinition": "kubedag.definitions.graph",
    "job": "kubedag.definitions.job",
    "JobDefinition": "kubedag.definitions.job",
    "define_asset_job": "kubedag.definitions.job",
    "UnresolvedAssetJobDefinition": "kubedag.definitions.job",
    "AssetSelection": "kubedag.definitions.selection",
    "asset_check": "kubedag.definitions.checks",
    "multi_asset_check": "kubedag.definitions.checks",
    "AssetCheckSpec": "kubedag.definitions.checks",
    "AssetCheckKey": "kubedag.definitions.checks",
    "AssetChecksDefinition": "kubedag.definitions.checks",
    "AssetCheckResult": "kubedag.definitions.results",
    "AssetCheckSeverity": "kubedag.definitions.results",
    "AssetCheckEvaluation": "kubedag.definitions.results",
    "AssetMaterialization": "kubedag.definitions.results",
    "MaterializeResult": "kubedag.definitions.results",
    "Output": "kubedag.definitions.results",
    "RetryPolicy": "kubedag.definitions.policies",
    "Backoff": "kubedag.definitions.policies",
    "Jitter": "kubedag.definitions.policies",
    "Definitions": "kubedag.definitions.definitions",
    "ScheduleDefinition": "kubedag.definitions.schedules",
    "schedule": "kubedag.definitions.schedules",
    "SensorDefinition": "kubedag.definitions.schedules",
    "sensor": "kubedag.definitions.schedules",
    "DefaultScheduleStatus": "kubedag.definitions.schedules",
    "DefaultSensorStatus": "kubedag.definitions.schedules",
    "RunRequest": "kubedag.definitions.run_request",
    "SkipReason": "kubedag.definitions.run_request",
    "SensorResult": "kubedag.definitions.run_request",
    "AutomationCondition": "kubedag.definitions.automation_condition",
    "PartitionsDefinition": "kubedag.definitions.partitions",
    "StaticPartitionsDefinition": "kubedag.definitions.partitions",
    "TimeWindowPartitionsDefinition": "kubedag.definitions.partitions",
    "DailyPartitionsDefinition": "kubedag.definitions.partitions",
    "HourlyPartitionsDefinition": "kubedag.definitions.partitions",
    "WeeklyPartitionsDefinition": "kubedag.definitions.partitions",
    "MonthlyPartitionsDefinition": "kubedag.definitions.partitions",
    "DynamicPartitionsDefinition": "kubedag.definitions.partitions",
    "MultiPartitionsDefinition": "kubedag.definitions.partitions",
    "MultiPartitionKey": "kubedag.definitions.partitions",
    "PartitionKeyRange": "kubedag.definitions.partitions",
    "TimeWindow": "kubedag.definitions.partitions",
    # config and resources
    "Config": "kubedag.config.config",
    "RunConfig": "kubedag.config.run_config",
    "EnvVar": "kubedag.config.env_var",
    "ConfigurableResource": "kubedag.resources.resource",
    "ResourceDefinition": "kubedag.resources.definition",
    "InitResourceContext": "kubedag.resources.definition",
    "resource": "kubedag.resources.definition",
    "build_init_resource_context": "kubedag.resources.definition",
    "ResourceParam": "kubedag.resources.params",
    "build_resources": "kubedag.resources.initialization",
    "IOManager": "kubedag.resources.io_manager",
    "ConfigurableIOManager": "kubedag.resources.configurable_io_manager",
    "InputContext": "kubedag.resources.io_manager",
    "OutputContext": "kubedag.resources.io_manager",
    "FilesystemIOManager": "kubedag.resources.io_manager",
    "InMemoryIOManager": "kubedag.resources.io_manager",
    "fs_io_manager": "kubedag.resources.io_manager",
    "mem_io_manager": "kubedag.resources.io_manager",
    # execution
    "AssetExecutionContext": "kubedag.execution.context",
    "OpExecutionContext": "kubedag.execution.context",
    "AssetCheckExecutionContext": "kubedag.execution.context",
    "build_asset_context": "kubedag.execution.context",
    "build_op_context": "kubedag.execution.context",
    "materialize": "kubedag.execution.materialize",
    "materialize_to_memory": "kubedag.execution.materialize",
    "ExecuteInProcessResult": "kubedag.execution.result",
    "Event": "kubedag.execution.events",
    "EventType": "kubedag.execution.events",
    "EventLogEntry": "kubedag.execution.events",
    "ErrorInfo": "kubedag.execution.events",
    "executor": "kubedag.execution.executors",
    "Executor": "kubedag.execution.executors",
    "ExecutorDefinition": "kubedag.execution.executors",
    "InitExecutorContext": "kubedag.execution.executors",
    "in_process_executor": "kubedag.execution.executors",
    "multiprocess_executor": "kubedag.execution.executors",
    "ExecutorRequirement": "kubedag.execution.executors",
    "multi_or_in_process_executor": "kubedag.execution.executor_selection",
    "execute_job": "kubedag.execution.execute_job",
    "reconstructable": "kubedag.execution.execute_job",
    "ReconstructableJob": "kubedag.execution.execute_job",
    "ReexecutionOptions": "kubedag.execution.reexecution",
    # instance and runs
    "Instance": "kubedag.instance.instance",
    "InstanceRef": "kubedag.instance.instance",
    "RunsFilter": "kubedag.storage.records",
    "RunRecord": "kubedag.storage.records",
    "EventRecordsFilter": "kubedag.storage.records",
    "EventLogRecord": "kubedag.storage.records",
    "AssetRecord": "kubedag.storage.records",
    "AssetEntry": "kubedag.storage.records",
    "InstigatorState": "kubedag.storage.records",
    "InstigatorStatus": "kubedag.storage.records",
    "InstigatorType": "kubedag.storage.records",
    "Tick": "kubedag.storage.records",
    "TickStatus": "kubedag.storage.records",
    "DaemonHeartbeat": "kubedag.storage.records",
    "RunStorage": "kubedag.storage.base",
    "EventLogStorage": "kubedag.storage.base",
    "ScheduleStorage": "kubedag.storage.base",
    "ComputeLogManager": "kubedag.compute_logs.manager",
    "LocalComputeLogManager": "kubedag.compute_logs.local",
    "NoOpComputeLogManager": "kubedag.compute_logs.noop",
    "S3ComputeLogManager": "kubedag.compute_logs.s3",
    "Run": "kubedag.runs.run",
    "RunStatus": "kubedag.runs.run",
    "RunCoordinator": "kubedag.runs.coordinators",
    "DefaultRunCoordinator": "kubedag.runs.coordinators",
    "QueuedRunCoordinator": "kubedag.runs.coordinators",
    "SubmitRunContext": "kubedag.runs.coordinators",
    "RunLauncher": "kubedag.runs.launchers.base",
    "LaunchRunContext": "kubedag.runs.launchers.base",
    "ResumeRunContext": "kubedag.runs.launchers.base",
    "WorkerHealth": "kubedag.runs.launchers.base",
    "WorkerStatus": "kubedag.runs.launchers.base",
    "LocalProcessRunLauncher": "kubedag.runs.launchers.local_process",
    # errors
    "KubedagError": "kubedag.errors",
    "CodeLocationLoadError": "kubedag.errors",
    "InvalidDefinitionError": "kubedag.errors",
    "DuplicateAssetKeyError": "kubedag.errors",
    "UnknownDependencyError": "kubedag.errors",
    "DependencyCycleError": "kubedag.errors",
    "MissingResourceError": "kubedag.errors",
    "InvalidConfigError": "kubedag.errors",
    "InvalidInvocationError": "kubedag.errors",
    "InvalidSelectionError": "kubedag.errors",
    "EnvVarNotSetError": "kubedag.errors",
    "StepExecutionError": "kubedag.errors",
    "ResourceInitError": "kubedag.errors",
    "AssetCheckFailedError": "kubedag.errors",
    "Failure": "kubedag.errors",
    "RetryRequested": "kubedag.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubedag' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
