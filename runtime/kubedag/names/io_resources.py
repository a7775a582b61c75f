"""The package face's names: I/O manager and input manager definitions, file handles, resource helpers.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "DagsterResourceFunctionError": "kubedag.errors",
    "DagsterUnknownResourceError": "kubedag.errors",
    "IAttachDifferentObjectToOpContext": "kubedag.resources.attach_to_context",
    "IOManagerDefinition": "kubedag.resources.io_manager_definition",
    "io_manager": "kubedag.resources.io_manager_definition",
    "InputManager": "kubedag.resources.input_manager",
    "InputManagerDefinition": "kubedag.resources.input_manager",
    "input_manager": "kubedag.resources.input_manager",
    "build_input_context": "kubedag.resources.io_contexts_for_tests",
    "build_output_context": "kubedag.resources.io_contexts_for_tests",
}
