"""Metadata values as the reference has them: each kind's constructor, its fields, `.value`, and
raw values in `metadata={...}` normalized into the kind they stand for when an event records
them (the expected reprs and types were read off the reference, dagster 1.13.29)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg

M = dg.MetadataValue


def a_function() -> None: ...


SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(
            "id",
            "int",
            description="order id",
            constraints=dg.TableColumnConstraints(nullable=False, unique=True, other=["> 0"]),
            tags={"pii": "no"},
        ),
        dg.TableColumn("total", "float"),
    ],
    constraints=dg.TableConstraints(other=["id is the primary key"]),
)
LINEAGE = dg.TableColumnLineage(
    deps_by_column={"total": [dg.TableColumnDep(asset_key="raw_orders", column_name="amount")]}
)

# (built value, its class, its repr's start, its .value)
KINDS: dict[str, tuple[Any, type, str, Any]] = {
    "md": (M.md("# hi"), dg.MarkdownMetadataValue, "MarkdownMetadataValue(md_str='# hi')", "# hi"),
    "url": (M.url("https://x.io"), dg.UrlMetadataValue, "UrlMetadataValue(url=", "https://x.io"),
    "path": (M.path(Path("/a/b")), dg.PathMetadataValue, "PathMetadataValue(fspath='/a/b')", "/a/b"),
    "notebook": (M.notebook("/n.ipynb"), dg.NotebookMetadataValue, "NotebookMetadataValue(", "/n.ipynb"),
    "json": (M.json({"a": [1]}), dg.JsonMetadataValue, "JsonMetadataValue(data={'a': [1]})", {"a": [1]}),
    "int": (M.int(3), dg.IntMetadataValue, "IntMetadataValue(value=3)", 3),
    "float": (M.float(2.5), dg.FloatMetadataValue, "FloatMetadataValue(value=2.5)", 2.5),
    "bool": (M.bool(False), dg.BoolMetadataValue, "BoolMetadataValue(value=False)", False),
    "text": (M.text("t"), dg.TextMetadataValue, "TextMetadataValue(text='t')", "t"),
    "timestamp": (M.timestamp(1700000000.5), dg.TimestampMetadataValue, "TimestampMetadataValue(value=1700000000.5)", 1700000000.5),
    "asset": (M.asset(dg.AssetKey(["a", "b"])), dg.DagsterAssetMetadataValue, "DagsterAssetMetadataValue(asset_key=AssetKey(['a', 'b']))", dg.AssetKey(["a", "b"])),
    "run": (M.dagster_run("abc"), dg.DagsterRunMetadataValue, "DagsterRunMetadataValue(run_id='abc')", "abc"),
    "null": (M.null(), dg.NullMetadataValue, "NullMetadataValue()", None),
    "pool": (M.pool("db"), dg.PoolMetadataValue, "PoolMetadataValue(name='db')", "db"),
    "table_schema": (M.table_schema(SCHEMA), dg.TableSchemaMetadataValue, "TableSchemaMetadataValue(schema=TableSchema(", SCHEMA),
    "column_lineage": (M.column_lineage(LINEAGE), dg.TableColumnLineageMetadataValue, "TableColumnLineageMetadataValue(lineage=", LINEAGE),
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_each_constructor_builds_its_kind(kind: str) -> None:
    value, cls, shown, plain = KINDS[kind]
    assert type(value) is cls and isinstance(value, dg.MetadataValue)
    assert repr(value).startswith(shown)
    assert value.value == plain
    assert value == KINDS[kind][0]  # equal by value


def test_kinds_whose_value_is_themselves() -> None:
    job = M.job("nightly", "etl", repository_name="repo")
    assert job == dg.DagsterJobMetadataValue("nightly", "etl", "repo") and job.value is job
    artifact = M.python_artifact(a_function)
    assert (artifact.module, artifact.name) == (__name__, "a_function")
    assert artifact.value is artifact
    table = M.table([dg.TableRecord({"id": 1, "total": 2.5, "paid": True, "note": None})])
    assert table.value is table


def test_a_table_infers_its_schema_from_the_first_record() -> None:
    table = M.table([dg.TableRecord({"id": 1, "total": 2.5, "paid": True, "note": "x"})])
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("id", "int"),
        ("total", "float"),
        ("paid", "bool"),
        ("note", "string"),
    ]
    assert table.records[0].data["total"] == 2.5
    with pytest.raises(ValueError, match="needs schema"):
        M.table([])
    assert M.table([], schema=SCHEMA).schema is SCHEMA


def test_table_parts_have_the_reference_defaults_and_checks() -> None:
    column = dg.TableColumn("name")
    assert column.type == "string" and column.description is None and column.tags == {}
    assert column.constraints == dg.TableColumnConstraints(nullable=True, unique=False, other=[])
    assert repr(dg.TableColumnConstraints()) == (
        "TableColumnConstraints(nullable=True, unique=False, other=[])"
    )
    assert dg.TableSchema([]).constraints == dg.TableConstraints(other=[])
    assert dg.TableSchema.from_name_type_dict({"a": "int"}).columns == [dg.TableColumn("a", "int")]
    assert dg.TableColumnDep(["s", "t"], "c").asset_key == dg.AssetKey(["s", "t"])
    with pytest.raises(TypeError, match="type=… must be a str"):
        dg.TableColumn("a", type=int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="column 'a'"):
        dg.TableRecord({"a": [1]})  # type: ignore[dict-item]
    # Lineage lists each column's dependencies sorted by asset, then column; never twice.
    lineage = dg.TableColumnLineage(
        {"x": [dg.TableColumnDep("u", "z"), dg.TableColumnDep("a", "c")]}
    )
    assert [d.asset_key.path[0] for d in lineage.deps_by_column["x"]] == ["a", "u"]
    with pytest.raises(ValueError, match="same dependency twice"):
        dg.TableColumnLineage({"x": [dg.TableColumnDep("u", "c"), dg.TableColumnDep("u", "c")]})


def test_constructors_check_their_types_like_the_reference() -> None:
    with pytest.raises(TypeError, match="must be a float"):
        M.float(3)  # type: ignore[arg-type]  # the reference refuses an int too
    with pytest.raises(TypeError, match="must be a int"):
        M.int("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        M.text(3)  # type: ignore[arg-type]
    with pytest.raises(dg.InvalidMetadataError, match="not JSON serializable"):
        M.json({"a": object()})
    with pytest.raises(ValueError, match="time zone"):
        M.timestamp(datetime(2024, 1, 1))
    assert M.timestamp(datetime(2024, 1, 1, tzinfo=UTC)).value == 1704067200.0
    with pytest.raises(TypeError, match="abstract"):
        dg.MetadataValue()


RAW = {
    "int": (3, dg.IntMetadataValue(3)),
    "str": ("x", dg.TextMetadataValue("x")),
    "float": (1.5, dg.FloatMetadataValue(1.5)),
    "bool": (True, dg.BoolMetadataValue(True)),
    "dict": ({"a": 1}, dg.JsonMetadataValue({"a": 1})),
    "list": ([1, 2], dg.JsonMetadataValue([1, 2])),
    "none": (None, dg.NullMetadataValue()),
    "asset key": (dg.AssetKey("z"), dg.DagsterAssetMetadataValue(dg.AssetKey("z"))),
    "path": (Path("/tmp/x"), dg.PathMetadataValue("/tmp/x")),
    "schema": (SCHEMA, dg.TableSchemaMetadataValue(SCHEMA)),
    "lineage": (LINEAGE, M.column_lineage(LINEAGE)),
    "already a value": (M.url("u"), dg.UrlMetadataValue("u")),
}


@pytest.mark.parametrize("raw", RAW, ids=RAW)
def test_raw_values_are_normalized_where_the_reference_normalizes(raw: str) -> None:
    given, expected = RAW[raw]
    metadata = {"v": given}
    assert dg.AssetMaterialization("a", metadata=metadata).metadata == {"v": expected}
    assert dg.AssetObservation(asset_key="a", metadata=metadata).metadata == {"v": expected}
    assert dg.Output(1, metadata=metadata).metadata == {"v": expected}
    assert dg.AssetCheckResult(passed=True, metadata=metadata).metadata == {"v": expected}
    # Declarations keep what they were given, as the reference's do.
    assert dg.MaterializeResult(metadata=metadata).metadata == metadata
    assert dg.AssetSpec("a", metadata=metadata).metadata == metadata


def test_a_metadata_value_is_not_equal_to_its_raw_value() -> None:
    assert dg.IntMetadataValue(3) != 3  # as in the reference: compare .value
    assert hash(M.path("/a")) == hash(M.path("/a"))


@pytest.mark.parametrize("value", [frozenset({"a"}), (1, 2), b"x", datetime(2024, 1, 1), object()])
def test_a_value_of_no_known_kind_is_refused_naming_its_key(value: Any) -> None:
    with pytest.raises(dg.InvalidMetadataError, match=f"'rows'.*{type(value).__name__}"):
        dg.AssetMaterialization("a", metadata={"rows": value})


def test_a_run_records_metadata_values() -> None:
    @dg.asset
    def orders(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        context.add_output_metadata({"source": "api"})
        return dg.MaterializeResult(
            metadata={"rows": 2, "preview": M.md("| id |\n|----|\n| 1 |"), "schema": SCHEMA}
        )

    result = dg.materialize([orders])
    [materialization] = result.asset_materializations_for_node("orders")
    metadata = materialization.metadata
    assert metadata["rows"] == dg.IntMetadataValue(2) and metadata["rows"].value == 2
    assert metadata["source"] == dg.TextMetadataValue("api")
    assert isinstance(metadata["preview"], dg.MarkdownMetadataValue)
    assert metadata["schema"].value.columns[0].name == "id"


def test_metadata_entry_is_a_label_and_a_normalized_value() -> None:
    entry = dg.MetadataEntry("rows", value=3)
    assert (entry.label, entry.description, entry.value) == ("rows", None, dg.IntMetadataValue(3))
    assert entry == dg.MetadataEntry("rows", entry_data=3)
    assert os.fspath(dg.MetadataEntry("p", value=Path("/x")).value.value) == "/x"
