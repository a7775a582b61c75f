"""Observations: source assets, `@observable_source_asset`, `@multi_observable_source_asset`,
`context.log_event`, ASSET_OBSERVATION events in the event log, and data versions recorded as
tags the way the reference records them (`dagster/data_version`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubedag as dg


@pytest.fixture
def instance(tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_config({}, home=tmp_path / "home")


@dg.observable_source_asset
def raw_file(context: dg.AssetExecutionContext) -> dg.DataVersion:
    context.log.info("looking at the file")
    return dg.DataVersion("v1")


@dg.observable_source_asset(metadata={"owner": "sales"}, group_name="sources")
def raw_table() -> dg.ObserveResult:
    return dg.ObserveResult(
        data_version=dg.DataVersion("rows-42"), metadata={"rows": 42}, tags={"checked": "yes"}
    )


@dg.multi_observable_source_asset(specs=[dg.AssetSpec("left"), dg.AssetSpec("right")])
def both_sides(context: dg.AssetExecutionContext):  # type: ignore[no-untyped-def]
    yield dg.ObserveResult(asset_key="left", data_version=dg.DataVersion("l1"))
    yield dg.ObserveResult(asset_key="right", metadata={"files": 3})


def _observations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetObservation]:
    return {
        e.asset_observation.asset_key.to_user_string(): e.asset_observation
        for e in result.get_asset_observation_events()
    }


def test_source_asset_declarations() -> None:
    plain = dg.SourceAsset("vendor_feed", metadata={"url": "https://x"}, io_manager_key="vendor")
    assert plain.key == dg.AssetKey("vendor_feed") and not plain.is_observable
    assert plain.metadata == {"url": dg.TextMetadataValue("https://x")}
    assert plain.get_io_manager_key() == "vendor"
    assert isinstance(raw_file, dg.SourceAsset) and raw_file.is_observable
    assert raw_table.metadata == {"owner": dg.TextMetadataValue("sales")}
    assert raw_table.group_name == "sources" and raw_file.op.name == "raw_file"
    assert isinstance(both_sides, dg.AssetsDefinition)
    assert both_sides.keys == (dg.AssetKey("left"), dg.AssetKey("right"))


def test_observing_records_observations_with_data_versions(instance: dg.Instance) -> None:
    defs = dg.Definitions(
        assets=[raw_file, raw_table, both_sides],
        jobs=[dg.define_asset_job("observe", selection=["raw_file", "raw_table", "left", "right"])],
    )
    result = defs.get_job_def("observe").execute_in_process(instance=instance)
    assert result.success
    seen = _observations(result)
    assert seen["raw_file"].tags == {"dagster/data_version": "v1"}
    assert seen["raw_file"].data_version == "v1"
    assert seen["raw_table"].metadata == {"rows": dg.IntMetadataValue(42)}
    assert seen["raw_table"].tags == {"checked": "yes", "dagster/data_version": "rows-42"}
    # As in the reference, a multi-asset observation marks its versions as given by the user.
    assert seen["left"].tags == {
        "dagster/data_version": "l1",
        "dagster/data_version_is_user_provided": "true",
    }
    assert seen["right"].metadata == {"files": dg.IntMetadataValue(3)} and seen["right"].tags == {}
    assert not result.get_asset_materialization_events()  # observing materializes nothing

    # The event log keeps them as ASSET_OBSERVATION, readable through the instance.
    records = instance.get_event_records(
        dg.EventRecordsFilter(dg.EventType.ASSET_OBSERVATION, dg.AssetKey("raw_table"))
    )
    [record] = records
    assert record.event_log_entry.event is not None
    stored = record.event_log_entry.event.asset_observation
    assert stored == seen["raw_table"]
    assert instance.get_latest_materialization_event("raw_table") is None


def test_an_observed_source_is_loaded_through_its_io_manager(instance: dg.Instance) -> None:
    class Fixed(dg.IOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            raise AssertionError("a source asset is never stored")

        def load_input(self, context: dg.InputContext) -> list[int]:
            return [1, 2, 3]

    @dg.observable_source_asset(io_manager_key="vendor_io")
    def vendor() -> dg.DataVersion:
        return dg.DataVersion("2024-01-01")

    @dg.asset
    def summed(vendor: list[int]) -> int:
        return sum(vendor)

    result = dg.materialize(
        [vendor, summed],
        selection=["summed"],
        instance=instance,
        resources={"vendor_io": Fixed()},
    )
    assert result.success and result.output_for_node("summed") == 6
    # A plain (not observable) source asset is an external asset.
    plain = dg.SourceAsset("vendor", io_manager_key="vendor_io")
    again = dg.materialize([plain, summed], instance=instance, resources={"vendor_io": Fixed()})
    assert again.output_for_node("summed") == 6


def test_log_event_records_observations_and_materializations(instance: dg.Instance) -> None:
    @dg.asset
    def report(context: dg.AssetExecutionContext) -> int:
        context.log_event(dg.AssetObservation(asset_key="inbox", metadata={"unread": 7}))
        context.log_event(dg.AssetMaterialization("side_table", metadata={"rows": 1}))
        with pytest.raises(TypeError, match="log_event takes"):
            context.log_event(dg.Output(1))  # type: ignore[arg-type]
        return 1

    result = dg.materialize([report], instance=instance)
    types = [e.event_type for e in result.all_events if e.step_key == "report"]
    assert types.index(dg.EventType.ASSET_OBSERVATION) < types.index(dg.EventType.STEP_SUCCESS)
    assert result.asset_observations_for_node("report") == [
        dg.AssetObservation(asset_key="inbox", metadata={"unread": 7})
    ]
    materialized = {
        m.asset_key.to_user_string() for m in result.asset_materializations_for_node("report")
    }
    assert materialized == {"report", "side_table"}
    latest = instance.get_latest_materialization_event("side_table")
    assert latest is not None and latest.run_id == result.run_id


def test_data_versions_given_to_materializations_are_recorded_as_tags(
    instance: dg.Instance,
) -> None:
    @dg.asset
    def versioned() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=dg.DataVersion("x1"), tags={"t": "1"})

    @dg.asset(code_version="v2")
    def coded() -> dg.Output[int]:
        return dg.Output(1, data_version=dg.DataVersion("y"))

    result = dg.materialize([versioned, coded], instance=instance)
    [first] = result.asset_materializations_for_node("versioned")
    assert first.tags == {
        "dagster/code_version": result.run_id,  # no code version: the run's id, as the reference
        "dagster/data_version": "x1",
        "dagster/data_version_is_user_provided": "true",
        "t": "1",
    }
    [second] = result.asset_materializations_for_node("coded")
    provenance = dg.DataProvenance.from_tags(second.tags)
    assert provenance == dg.DataProvenance("v2", {}, {}, True)
    assert dg.DataProvenance.from_tags({}) is None


def test_data_version_values() -> None:
    assert dg.DataVersion("a") == dg.DataVersion("a") and dg.DataVersion("a").value == "a"
    assert repr(dg.DataVersion("a")) == "DataVersion(value='a')"
    with pytest.raises(TypeError, match="must be a str"):
        dg.DataVersion(1)  # type: ignore[arg-type]
    by_partition = dg.DataVersionsByPartition(
        {"2024-01-01": "a", "2024-01-02": dg.DataVersion("b")}
    )
    assert by_partition.data_versions_by_partition == {
        "2024-01-01": dg.DataVersion("a"),
        "2024-01-02": dg.DataVersion("b"),
    }
    provenance = dg.DataProvenance.from_tags(
        {
            "dagster/code_version": "c1",
            "dagster/input_data_version/up": "u9",
            "dagster/input_event_pointer/up": "17",
        }
    )
    assert provenance is not None and provenance.has_input_asset(dg.AssetKey("up"))
    assert provenance.input_data_versions == {dg.AssetKey("up"): dg.DataVersion("u9")}
    assert provenance.input_storage_ids == {dg.AssetKey("up"): 17}
    observation = dg.AssetObservation(asset_key=["a", "b"], tags={"dagster/data_version": "7"})
    assert observation.label == "a/b" and observation.data_version == "7"
    assert observation.with_metadata({"n": 1}).metadata == {"n": dg.IntMetadataValue(1)}


def test_partitioned_observations_record_each_partition(instance: dg.Instance) -> None:
    days = dg.StaticPartitionsDefinition(["mon", "tue"])

    @dg.observable_source_asset(partitions_def=days)
    def daily_drop() -> dg.DataVersionsByPartition:
        return dg.DataVersionsByPartition({"mon": "m1", "tue": "t1"})

    job = dg.define_asset_job("observe_days", selection=[daily_drop.key])
    defs = dg.Definitions(assets=[daily_drop], jobs=[job])
    result = defs.get_job_def("observe_days").execute_in_process(
        instance=instance, partition_key="mon"
    )
    seen = [
        (e.asset_observation.partition, e.asset_observation.data_version)
        for e in result.get_asset_observation_events()
    ]
    assert seen == [("mon", "m1"), ("tue", "t1")]
