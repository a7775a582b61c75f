"""The package face's names: Contexts, materialize, results, events, executors, execute_job.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
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
}
