"""The package face's names: I/O manager and input manager definitions, file handles, resource helpers.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {}
