"""The package face's names: DagsterType, TypeCheck, type loaders and the typing helpers (List, Optional, Nothing...).

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {}
