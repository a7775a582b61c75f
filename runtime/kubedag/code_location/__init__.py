"""Code locations: where a deployment's `Definitions` come from (a Python file or module).

`load_definitions` is the one entry point; the CLI and the run worker both go through it, so a
code location loads the same way wherever it runs.
"""

from kubedag.code_location.load import load_definitions

__all__ = ["load_definitions"]
