"""kubedag: data orchestration around software-defined assets, Kubernetes-native.

`import kubedag as dg` gives the user-facing names of the reference system. Names are loaded on
first use (PEP 562 `__getattr__`), so `import kubedag` stays fast and a process that never
touches `dg.Config` never imports pydantic.
"""

from __future__ import annotations

import importlib
from typing import Any

from kubedag.version import __version__ as __version__

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
    "asset_sensor": "kubedag.definitions.schedules",
    "build_schedule_from_partitioned_job": "kubedag.definitions.schedules",
    "ScheduleEvaluationContext": "kubedag.automation.schedules",
    "build_schedule_context": "kubedag.automation.schedules",
    "SensorEvaluationContext": "kubedag.automation.sensors",
    "build_sensor_context": "kubedag.automation.sensors",
    "evaluate_automation_conditions": "kubedag.automation.conditions",
    "AddDynamicPartitionsRequest": "kubedag.definitions.run_request",
    "DeleteDynamicPartitionsRequest": "kubedag.definitions.run_request",
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
    "PartitionDimensionDefinition": "kubedag.definitions.partitions",
    "ScheduleType": "kubedag.definitions.partitions",
    "UnknownPartitionError": "kubedag.definitions.partitions",
    "PartitionMapping": "kubedag.definitions.partition_mapping",
    "IdentityPartitionMapping": "kubedag.definitions.partition_mapping",
    "AllPartitionMapping": "kubedag.definitions.partition_mapping",
    "LastPartitionMapping": "kubedag.definitions.partition_mapping",
    "StaticPartitionMapping": "kubedag.definitions.partition_mapping",
    "SpecificPartitionsPartitionMapping": "kubedag.definitions.partition_mapping",
    "TimeWindowPartitionMapping": "kubedag.definitions.partition_mapping",
    "MultiPartitionMapping": "kubedag.definitions.partition_mapping",
    "DimensionPartitionMapping": "kubedag.definitions.partition_mapping",
    "Backfill": "kubedag.storage.records",
    "BackfillStatus": "kubedag.storage.records",
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
    "Event": "kubedag.records.events",
    "EventType": "kubedag.records.events",
    "EventLogEntry": "kubedag.records.events",
    "ErrorInfo": "kubedag.records.events",
    "executor": "kubedag.execution.executors",
    "Executor": "kubedag.execution.executors",
    "ExecutorDefinition": "kubedag.execution.executors",
    "InitExecutorContext": "kubedag.execution.executors",
    "in_process_executor": "kubedag.execution.executors",
    "multiprocess_executor": "kubedag.execution.multiprocess.definition",
    "ExecutorRequirement": "kubedag.execution.executors",
    "multi_or_in_process_executor": "kubedag.execution.executor_selection",
    "execute_job": "kubedag.execution.execute_job",
    "reconstructable": "kubedag.execution.execute_job",
    "ReconstructableJob": "kubedag.execution.execute_job",
    "ReexecutionOptions": "kubedag.execution.reexecution",
    # instance and runs
    "Instance": "kubedag.instance.instance",
    "InstanceRef": "kubedag.records.instance_ref",
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
    "Run": "kubedag.records.run",
    "RunStatus": "kubedag.records.run",
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


# -- the engine behind the definitions' convenience methods (definitions/engine.py) ----------
# Each function imports its layer when first called, so `import kubedag` stays light.


def _job_from_graph(graph: Any, **kwargs: Any) -> Any:
    from kubedag.definitions.job import JobDefinition

    return JobDefinition.from_graph(graph, **kwargs)


def _execute_job(job: Any, **kwargs: Any) -> Any:
    from kubedag.execution.run import execute_job

    return execute_job(job, **kwargs)


def _invoke_op(op: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    from kubedag.execution.invocation import invoke_directly

    return invoke_directly(op, args, kwargs)


def _evaluate_schedule(schedule: Any, context: Any) -> Any:
    from kubedag.automation.schedules import evaluate_schedule

    return evaluate_schedule(schedule, context)


def _evaluate_sensor(sensor: Any, context: Any) -> Any:
    from kubedag.automation.sensors import evaluate_sensor

    return evaluate_sensor(sensor, context)


def _ephemeral_instance() -> Any:
    from kubedag.instance.instance import Instance

    return Instance.ephemeral()


def _instance_from_ref(ref_json: str) -> Any:
    from kubedag.instance.instance import Instance
    from kubedag.records.instance_ref import InstanceRef

    return Instance.from_ref(InstanceRef.from_json(ref_json))


def _install_engine() -> None:
    from kubedag.definitions.engine import Engine, install_engine

    install_engine(
        Engine(
            job_from_graph=_job_from_graph,
            execute_job=_execute_job,
            invoke_op=_invoke_op,
            evaluate_schedule=_evaluate_schedule,
            evaluate_sensor=_evaluate_sensor,
            ephemeral_instance=_ephemeral_instance,
            instance_from_ref=_instance_from_ref,
        )
    )


_install_engine()
