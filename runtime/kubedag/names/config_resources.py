"""The package face's names: Config, run config, environment variables, resources and I/O managers.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "Config": "kubedag.config.config",
    "RunConfig": "kubedag.config.run_config",
    "EnvVar": "kubedag.config.env_var",
    "ConfigurableResource": "kubedag.resources.resource",
    "ResourceDefinition": "kubedag.resources.definition",
    "InitResourceContext": "kubedag.resources.definition",
    "resource": "kubedag.resources.definition",
    "build_init_resource_context": "kubedag.resources.definition",
    "ResourceParam": "kubedag.resources.params",
    "build_resources": "kubedag.resources.initialization",
    "IOManager": "kubedag.resources.io_manager",
    "ConfigurableIOManager": "kubedag.resources.configurable_io_manager",
    "InputContext": "kubedag.resources.io_manager",
    "OutputContext": "kubedag.resources.io_manager",
    "FilesystemIOManager": "kubedag.resources.io_manager",
    "InMemoryIOManager": "kubedag.resources.io_manager",
    "fs_io_manager": "kubedag.resources.io_manager",
    "mem_io_manager": "kubedag.resources.io_manager",
}
