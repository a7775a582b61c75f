"""The package face's names: kubedag's exceptions.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
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
