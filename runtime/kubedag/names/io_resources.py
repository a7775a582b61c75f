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
    "ConfigurableIOManagerFactory": "kubedag.resources.configurable_io_manager",
    "ConfigurableLegacyIOManagerAdapter": "kubedag.resources.configurable_io_manager",
    "custom_path_fs_io_manager": "kubedag.resources.custom_path_fs_io_manager",
    "with_resources": "kubedag.resources.with_resources",
    "BindResourcesToJobs": "kubedag.definitions.bind_resources_to_jobs",
    "ResourceDependency": "kubedag.resources.resource_dependency",
    "FileHandle": "kubedag.resources.file_manager",
    "LocalFileHandle": "kubedag.resources.file_manager",
    "local_file_manager": "kubedag.resources.file_manager",
    "UPathIOManager": "kubedag.resources.upath_io_manager",
    "AssetValueLoader": "kubedag.execution.asset_value_loader",
}
