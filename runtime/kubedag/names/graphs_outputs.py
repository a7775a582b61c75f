"""The package face's names: graph building blocks, dynamic outputs, expectations, job execution results.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "DependencyDefinition": "kubedag.definitions.dependencies",
    "MultiDependencyDefinition": "kubedag.definitions.dependencies",
    "NodeInvocation": "kubedag.definitions.dependencies",
    "GraphIn": "kubedag.definitions.dependencies",
    "GraphOut": "kubedag.definitions.dependencies",
    "InputMapping": "kubedag.definitions.dependencies",
    "OutputMapping": "kubedag.definitions.dependencies",
    "PendingNodeInvocation": "kubedag.definitions.composition",
    "ExpectationResult": "kubedag.definitions.expectations",
    "JobExecutionResult": "kubedag.execution.result",
    "graph_multi_asset": "kubedag.definitions.graph_multi_asset",
    "DynamicOut": "kubedag.definitions.dynamic",
    "DynamicOutput": "kubedag.definitions.dynamic",
    "build_reconstructable_job": "kubedag.execution.reconstructable_job",
}
