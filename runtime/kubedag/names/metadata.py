"""The package face's names: metadata values, table schemas, code references.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

_VALUES = "kubedag.definitions.metadata.values"
_TABLE = "kubedag.definitions.metadata.table"
_CODE = "kubedag.definitions.metadata.code_references"

NAMES: dict[str, str] = {
    "MetadataValue": _VALUES,
    "MetadataEntry": _VALUES,
    "InvalidMetadataError": _VALUES,
    "BoolMetadataValue": _VALUES,
    "DagsterAssetMetadataValue": _VALUES,
    "DagsterJobMetadataValue": _VALUES,
    "DagsterRunMetadataValue": _VALUES,
    "FloatMetadataValue": _VALUES,
    "IntMetadataValue": _VALUES,
    "JsonMetadataValue": _VALUES,
    "MarkdownMetadataValue": _VALUES,
    "NotebookMetadataValue": _VALUES,
    "NullMetadataValue": _VALUES,
    "PathMetadataValue": _VALUES,
    "PoolMetadataValue": _VALUES,
    "PythonArtifactMetadataValue": _VALUES,
    "TableColumnLineageMetadataValue": _VALUES,
    "TableMetadataValue": _VALUES,
    "TableSchemaMetadataValue": _VALUES,
    "TextMetadataValue": _VALUES,
    "TimestampMetadataValue": _VALUES,
    "UrlMetadataValue": _VALUES,
    "TableColumn": _TABLE,
    "TableColumnConstraints": _TABLE,
    "TableColumnDep": _TABLE,
    "TableColumnLineage": _TABLE,
    "TableConstraints": _TABLE,
    "TableRecord": _TABLE,
    "TableSchema": _TABLE,
    "CodeReferencesMetadataValue": _CODE,
    "LocalFileCodeReference": _CODE,
    "UrlCodeReference": _CODE,
    "FilePathMapping": _CODE,
    "AnchorBasedFilePathMapping": _CODE,
    "with_source_code_references": _CODE,
    "link_code_references_to_git": _CODE,
    # multi-asset behaviours that came with this area
    "map_asset_specs": "kubedag.definitions.map_asset_specs",
}
