"""The package face's names: the config system of the reference: Field, Shape, Selector, scalar types, config mappings.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {}
