"""The package face's names: graph building blocks, dynamic outputs, expectations, job execution results.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {}
