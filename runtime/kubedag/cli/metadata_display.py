"""Metadata values as the command line shows them: one readable line of text, or plain JSON.

A number, text, URL or path shows as itself; an asset as its key; a table schema as its
columns and types; a table as its size and columns; column lineage as `column <- asset.column`;
code references as their files and lines or links. In `--json` output the simple kinds are
their plain value (`"rows": 17`) and the structured ones a small object a script can read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.metadata import values as mv
from kubedag.definitions.metadata.code_references import CodeReferencesMetadataValue
from kubedag.definitions.metadata.table import TableColumnLineage, TableSchema


def _schema_text(schema: TableSchema) -> str:
    return ", ".join(f"{c.name} ({c.type})" for c in schema.columns) or "no columns"


def _lineage_text(lineage: TableColumnLineage) -> str:
    parts = []
    for column, deps in lineage.deps_by_column.items():
        sources = ", ".join(f"{d.asset_key.to_user_string()}.{d.column_name}" for d in deps)
        parts.append(f"{column} <- {sources}")
    return "; ".join(parts) or "no columns"


def metadata_text(value: mv.MetadataValue) -> str:
    """One line for a metadata value (see the module docstring)."""
    if isinstance(value, mv.TimestampMetadataValue):
        return datetime.fromtimestamp(value.value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, mv.JsonMetadataValue):
        return json.dumps(value.data, default=str)
    if isinstance(value, mv.NullMetadataValue):
        return "null"
    if isinstance(value, mv.DagsterAssetMetadataValue):
        return f"asset {value.asset_key.to_user_string()}"
    if isinstance(value, mv.TableSchemaMetadataValue):
        return f"table schema: {_schema_text(value.schema)}"
    if isinstance(value, mv.TableMetadataValue):
        count = len(value.records)
        return f"table of {count} row{'' if count == 1 else 's'}: {_schema_text(value.schema)}"
    if isinstance(value, mv.TableColumnLineageMetadataValue):
        return f"column lineage: {_lineage_text(value.lineage)}"
    if isinstance(value, CodeReferencesMetadataValue):
        return ", ".join(reference.source for reference in value.code_references)
    if isinstance(value, mv.DagsterJobMetadataValue):
        return f"job {value.job_name} in {value.location_name}"
    if isinstance(value, mv.DagsterRunMetadataValue):
        return f"run {value.run_id}"
    if isinstance(value, mv.PythonArtifactMetadataValue):
        return f"{value.module}.{value.name}"
    if isinstance(value, mv.FloatMetadataValue) and value.value is not None:
        return f"{value.value:.10g}"
    return str(value.value)


def _schema_json(schema: TableSchema) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "type": c.type,
            "description": c.description,
            "nullable": c.constraints.nullable,
            "unique": c.constraints.unique,
        }
        for c in schema.columns
    ]


def metadata_json(value: mv.MetadataValue) -> Any:
    """A metadata value as JSON types (see the module docstring)."""
    if isinstance(value, mv.DagsterAssetMetadataValue):
        return value.asset_key.to_user_string()
    if isinstance(value, mv.TableSchemaMetadataValue):
        return {"columns": _schema_json(value.schema)}
    if isinstance(value, mv.TableMetadataValue):
        return {
            "columns": _schema_json(value.schema),
            "records": [record.data for record in value.records],
        }
    if isinstance(value, mv.TableColumnLineageMetadataValue):
        return {
            column: [
                {"asset_key": d.asset_key.to_user_string(), "column_name": d.column_name}
                for d in deps
            ]
            for column, deps in value.lineage.deps_by_column.items()
        }
    if isinstance(value, CodeReferencesMetadataValue):
        return [reference.source for reference in value.code_references]
    if isinstance(value, mv.DagsterJobMetadataValue):
        return {"job_name": value.job_name, "location_name": value.location_name}
    if isinstance(value, mv.PythonArtifactMetadataValue):
        return f"{value.module}.{value.name}"
    plain = value.value
    return plain.to_user_string() if isinstance(plain, AssetKey) else plain
