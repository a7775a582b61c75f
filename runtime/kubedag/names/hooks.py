"""The package face's names: success and failure hooks.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "HookDefinition": "kubedag.definitions.hooks",
    "HookExecutionResult": "kubedag.definitions.hooks",
    "success_hook": "kubedag.definitions.hooks",
    "failure_hook": "kubedag.definitions.hooks",
    "HookContext": "kubedag.execution.hook_context",
    "build_hook_context": "kubedag.execution.hook_context",
}
