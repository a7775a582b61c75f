"""The kopf handlers of the kubedag operator, one module per resource.

Importing this package registers every handler with kopf: the operator's settings
(`kubedag_operator.settings`, the startup handler) first, then each module of this package,
whichever engineer wrote it, found with `pkgutil` so a new module needs no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

import kubedag_operator.settings  # noqa: F401  (registers the startup and cleanup handlers)

MODULES = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
)

__all__ = ["MODULES"]
