"""Examples from the reference's documentation, in our own words, run end to end: an op that
records a materialization with mixed metadata, a table of validation errors as metadata, and a
file watched by an observable source asset feeding an asset."""

from __future__ import annotations

import os
from pathlib import Path

import kubedag as dg


def test_an_op_records_a_materialization_with_mixed_metadata(tmp_path: Path) -> None:
    @dg.op
    def publish_dataset(context: dg.OpExecutionContext):  # type: ignore[no-untyped-def]
        yield dg.AssetMaterialization(
            asset_key="published_dataset",
            metadata={
                "greeting": "hello",
                "dashboard_url": dg.MetadataValue.url("http://example.com/dashboard"),
                "num_rows": 0,
            },
        )
        yield dg.Output(None)

    @dg.job
    def publish() -> None:
        publish_dataset()

    with dg.Instance.from_config({}, home=tmp_path) as instance:
        result = publish.execute_in_process(instance=instance)
        assert result.success
        latest = instance.get_latest_materialization_event("published_dataset")
        assert latest is not None and latest.event is not None
        metadata = latest.event.materialization.metadata
    assert metadata == {
        "greeting": dg.TextMetadataValue("hello"),
        "dashboard_url": dg.UrlMetadataValue("http://example.com/dashboard"),
        "num_rows": dg.IntMetadataValue(0),
    }


def test_validation_errors_as_a_table() -> None:
    error_schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name="code", type="string"),
            dg.TableColumn(name="row", type="int"),
            dg.TableColumn(name="col", type="string"),
        ]
    )

    @dg.asset
    def customers() -> dg.MaterializeResult:
        problems = [{"code": "invalid-data-type", "row": 2, "col": "name"}]
        return dg.MaterializeResult(
            metadata={
                "errors": dg.MetadataValue.table(
                    records=[dg.TableRecord(data=p) for p in problems], schema=error_schema
                ),
                "dagster/column_schema": error_schema,
            }
        )

    result = dg.materialize([customers])
    [materialization] = result.asset_materializations_for_node("customers")
    errors = materialization.metadata["errors"]
    assert isinstance(errors, dg.TableMetadataValue)
    assert errors.records[0].data["row"] == 2
    assert [c.type for c in errors.schema.columns] == ["string", "int", "string"]
    assert materialization.metadata["dagster/column_schema"].value == error_schema


def test_a_watched_file_versions_the_asset_built_from_it(tmp_path: Path) -> None:
    data = tmp_path / "orders.csv"
    data.write_text("id,total\n1,9.5\n2,3.0\n")

    class CsvFiles(dg.IOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            raise AssertionError("the file is written by someone else")

        def load_input(self, context: dg.InputContext) -> list[str]:
            return data.read_text().splitlines()[1:]

    @dg.observable_source_asset(io_manager_key="csv_files")
    def orders_file() -> dg.DataVersion:
        return dg.DataVersion(str(os.path.getmtime(data)))

    @dg.asset
    def order_count(orders_file: list[str]) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"orders": len(orders_file)})

    defs = dg.Definitions(
        assets=[orders_file, order_count],
        jobs=[dg.define_asset_job("watch", selection=["orders_file"])],
        resources={"csv_files": CsvFiles()},
    )
    with dg.Instance.from_config({}, home=tmp_path / "home") as instance:
        watched = defs.get_job_def("watch").execute_in_process(instance=instance)
        [observation] = watched.asset_observations_for_node("orders_file")
        assert observation.data_version == str(os.path.getmtime(data))
        built = dg.materialize(
            [orders_file, order_count],
            selection=["order_count"],
            instance=instance,
            resources={"csv_files": CsvFiles()},
        )
        [count] = built.asset_materializations_for_node("order_count")
        assert count.metadata["orders"].value == 2
        records = instance.get_event_records(
            dg.EventRecordsFilter(dg.EventType.ASSET_OBSERVATION, dg.AssetKey("orders_file"))
        )
        assert [r.run_id for r in records] == [watched.run_id]
