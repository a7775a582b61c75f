"""The package face's names: DagsterType, TypeCheck, type loaders and the typing helpers (List, Optional, Nothing...).

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

_TYPES = "kubedag.definitions.dagster_type"
_LOADERS = "kubedag.definitions.type_loaders"
_CHECKS = "kubedag.definitions.type_check"

NAMES: dict[str, str] = {
    "DagsterType": _TYPES,
    "PythonObjectDagsterType": _TYPES,
    "Nothing": _TYPES,
    "List": _TYPES,
    "Optional": _TYPES,
    "Dict": _TYPES,
    "Set": _TYPES,
    "Tuple": _TYPES,
    "check_dagster_type": _TYPES,
    "usable_as_dagster_type": _TYPES,
    "make_python_type_usable_as_dagster_type": _TYPES,
    "TypeCheck": _CHECKS,
    "TypeCheckContext": _CHECKS,
    "DagsterTypeLoader": _LOADERS,
    "dagster_type_loader": _LOADERS,
    "DagsterTypeLoaderContext": "kubedag.execution.type_checks",
    "DagsterTypeCheckDidNotPass": "kubedag.errors",
    "DagsterTypeCheckError": "kubedag.errors",
}
