"""The package face's names: the config system of the reference: Field, Shape, Selector, scalar types, config mappings.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "Field": "kubedag.config.schema",
    "Shape": "kubedag.config.schema",
    "Permissive": "kubedag.config.schema",
    "Selector": "kubedag.config.schema",
    "Noneable": "kubedag.config.schema",
    "Array": "kubedag.config.schema",
    "Map": "kubedag.config.schema",
    "Enum": "kubedag.config.schema",
    "EnumValue": "kubedag.config.schema",
    "ScalarUnion": "kubedag.config.schema",
    "Int": "kubedag.config.schema",
    "Float": "kubedag.config.schema",
    "String": "kubedag.config.schema",
    "Bool": "kubedag.config.schema",
    "StringSource": "kubedag.config.schema",
    "IntSource": "kubedag.config.schema",
    "BoolSource": "kubedag.config.schema",
    "ConfigSchema": "kubedag.config.schema",
    "PermissiveConfig": "kubedag.config.config",
    "ConfigMapping": "kubedag.config.mapping",
    "config_mapping": "kubedag.config.mapping",
    "configured": "kubedag.config.mapping",
    "DagsterInvalidConfigError": "kubedag.errors",
    "DagsterInvalidConfigDefinitionError": "kubedag.errors",
    "DagsterConfigMappingFunctionError": "kubedag.errors",
    "config_from_files": "kubedag.config.from_yaml",
    "config_from_yaml_strings": "kubedag.config.from_yaml",
    "config_from_pkg_resources": "kubedag.config.from_yaml",
    "make_values_resource": "kubedag.resources.values_resource",
    "validate_run_config": "kubedag.execution.validate_config",
}
