"""The package face's names: metadata values, table schemas, code references.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {}
