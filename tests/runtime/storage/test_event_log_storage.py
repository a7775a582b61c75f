"""Event-log storage: storage ids as cursors, filters, asset history, dynamic partitions."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pytest

import kubedag as dg
from kubedag.records.events import Event, EventType
from kubedag.storage.records import EventRecordsFilter


def _log(run_id: str, message: str, step: str | None = None) -> dg.EventLogEntry:
    return dg.EventLogEntry(run_id, time.time(), logging.INFO, message, "job", step)


def _materialization(
    run_id: str, key: str, partition: str | None = None, **metadata: object
) -> dg.EventLogEntry:
    data = dg.AssetMaterialization.of(key, metadata, partition)
    event = Event(
        EventType.ASSET_MATERIALIZATION, "job", f"Materialized {key}", key, data, partition
    )
    return dg.EventLogEntry.for_event(run_id, event)


def test_storage_ids_grow_and_batches_keep_their_order(instance: dg.Instance) -> None:
    first = instance.store_event_entries([_log("r1", f"line {i}") for i in range(5)])
    second = instance.store_event_entries([_log("r2", "other")])
    assert first == sorted(first) and len(set(first)) == 5
    assert second[0] > first[-1]
    records = instance.get_records_for_run("r1")
    assert [r.event_log_entry.user_message for r in records] == [f"line {i}" for i in range(5)]
    assert [r.storage_id for r in records] == first


def test_reading_a_run_after_a_cursor(instance: dg.Instance) -> None:
    ids = instance.store_event_entries([_log("r1", str(i)) for i in range(10)])
    after = instance.get_records_for_run("r1", cursor=ids[6])
    assert [r.event_log_entry.user_message for r in after] == ["7", "8", "9"]
    newest = instance.get_records_for_run("r1", limit=2, ascending=False)
    assert [r.event_log_entry.user_message for r in newest] == ["9", "8"]
    assert instance.get_records_for_run("r1", cursor=ids[-1]) == []


def test_events_of_a_real_run_round_trip(instance: dg.Instance, backend: str) -> None:
    @dg.asset
    def upstream(context: dg.AssetExecutionContext) -> int:
        context.log.info("computing upstream")
        return 1

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="downstream")])
    def downstream(upstream: int) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            value=upstream + 1,
            metadata={
                "rows": 2,
                "schema": dg.TableSchema([dg.TableColumn("id", "int")]),
                "nested": {"a": [1, 2]},
            },
            check_results=[dg.AssetCheckResult(passed=True, metadata={"n": 1})],
        )

    result = dg.materialize([upstream, downstream], instance=instance)
    stored = instance.all_logs(result.run_id)
    in_memory = [e for e in stored if e.event is not None]
    assert [e.event.event_type for e in in_memory] == [e.event_type for e in result.all_events]  # type: ignore[union-attr]
    assert [e.event for e in in_memory] != []
    materialization = instance.get_latest_materialization_event("downstream")
    assert materialization is not None and materialization.event is not None
    metadata = materialization.event.materialization.metadata
    assert metadata["rows"].value == 2
    assert metadata["nested"].value == {"a": [1, 2]}
    assert metadata["schema"] == dg.MetadataValue.table_schema(
        dg.TableSchema([dg.TableColumn("id", "int")])
    )
    checks = instance.all_logs(result.run_id, of_type=EventType.ASSET_CHECK_EVALUATION)
    assert len(checks) == 1 and checks[0].event is not None
    assert checks[0].event.asset_check_evaluation.passed is True
    log_lines = [e.user_message for e in stored if e.event is None]
    assert "computing upstream" in log_lines


def test_a_failure_keeps_its_error_and_traceback(instance: dg.Instance) -> None:
    @dg.asset
    def broken() -> None:
        raise ValueError("bad input")

    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    failures = instance.all_logs(result.run_id, of_type=EventType.STEP_FAILURE)
    assert len(failures) == 1 and failures[0].event is not None
    error = failures[0].event.step_failure_data.error
    assert error is not None and error.cls_name == "StepExecutionError"
    assert error.cause is not None and error.cause.cls_name == "ValueError"
    assert "bad input" in error.message
    assert any("raise ValueError" in frame for frame in error.cause.stack)
    assert isinstance(error.cause.stack, tuple)


def test_event_record_filters(instance: dg.Instance) -> None:
    entries = [
        _materialization("r1", "a", "p1"),
        _materialization("r1", "a", "p2"),
        _materialization("r1", "b"),
        _log("r1", "plain"),
        _materialization("r2", "a", "p1"),
    ]
    ids = instance.store_event_entries(
        [replace(e, timestamp=1000.0 + i) for i, e in enumerate(entries)]
    )
    mat = EventType.ASSET_MATERIALIZATION

    def found(flt: EventRecordsFilter, **kwargs: object) -> list[int]:
        return [r.storage_id for r in instance.get_event_records(flt, **kwargs)]  # type: ignore[arg-type]

    assert found(EventRecordsFilter(mat)) == [ids[4], ids[2], ids[1], ids[0]]
    assert found(EventRecordsFilter(mat), ascending=True, limit=2) == [ids[0], ids[1]]
    a = dg.AssetKey("a")
    assert found(EventRecordsFilter(mat, asset_key=a)) == [ids[4], ids[1], ids[0]]
    assert found(EventRecordsFilter(mat, asset_key=a, asset_partitions=["p1"])) == [ids[4], ids[0]]
    assert found(EventRecordsFilter(mat, after_cursor=ids[1], before_cursor=ids[4])) == [ids[2]]
    assert found(EventRecordsFilter(storage_ids=[ids[3], ids[0]])) == [ids[3], ids[0]]
    assert found(EventRecordsFilter(mat, run_id="r2")) == [ids[4]]
    assert found(EventRecordsFilter(after_timestamp=1003.5)) == [ids[4]]
    assert found(EventRecordsFilter(mat, before_timestamp=1000.5)) == [ids[0]]
    assert found(EventRecordsFilter(after_timestamp=1001.0, before_timestamp=1003.0)) == [ids[2]]
    with pytest.raises(ValueError, match="asset_partitions needs asset_key"):
        EventRecordsFilter(mat, asset_partitions=["p1"])


def test_latest_materialization_of_one_and_of_many_assets(instance: dg.Instance) -> None:
    instance.store_event_entries([_materialization("r1", "a", n=1), _materialization("r1", "b")])
    instance.store_event_entries([_materialization("r2", "a", n=2)])
    latest = instance.get_latest_materialization_event("a")
    assert latest is not None and latest.run_id == "r2"
    assert latest.event is not None and latest.event.materialization.metadata == {
        "n": dg.IntMetadataValue(2)
    }
    assert instance.get_latest_materialization_event("never") is None
    many = instance.get_latest_materialization_events(["a", "b", "never"])
    assert many[dg.AssetKey("a")].run_id == "r2"  # type: ignore[union-attr]
    assert many[dg.AssetKey("b")].run_id == "r1"  # type: ignore[union-attr]
    assert many[dg.AssetKey("never")] is None


def test_a_batch_read_larger_than_one_query(instance: dg.Instance) -> None:
    keys = [dg.AssetKey(["group", f"asset_{i}"]) for i in range(1203)]
    instance.store_event_entries([_materialization("r1", k.to_user_string()) for k in keys])
    latest = instance.get_latest_materialization_events([*keys, "missing"])
    assert sum(v is not None for v in latest.values()) == 1203
    assert latest[dg.AssetKey(["group", "asset_1202"])] is not None
    assert set(instance.get_asset_keys()) == set(keys)


def test_asset_records_and_partitions(instance: dg.Instance) -> None:
    instance.store_event_entries(
        [
            _materialization("r1", "daily", "2024-01-01"),
            _materialization("r1", "daily", "2024-01-02"),
            _materialization("r2", "daily", "2024-01-01", n=2),
            _materialization("r2", "plain"),
        ]
    )
    records = {r.asset_entry.asset_key: r for r in instance.get_asset_records()}
    assert set(records) == {dg.AssetKey("daily"), dg.AssetKey("plain")}
    daily = records[dg.AssetKey("daily")].asset_entry
    assert daily.last_run_id == "r2"
    assert daily.last_materialization is not None
    assert instance.get_materialized_partitions("daily") == {"2024-01-01", "2024-01-02"}
    by_partition = instance.get_latest_materialization_records_by_partition("daily")
    assert by_partition["2024-01-01"].run_id == "r2"
    assert by_partition["2024-01-02"].run_id == "r1"
    only = instance.get_latest_materialization_records_by_partition("daily", ["2024-01-02"])
    assert list(only) == ["2024-01-02"]
    assert [r.asset_entry.asset_key for r in instance.get_asset_records(["plain"])] == [
        dg.AssetKey("plain")
    ]


def test_deleting_a_run_rewinds_the_latest_materialization(instance: dg.Instance) -> None:
    instance.store_event_entries([_materialization("old", "a"), _materialization("old", "b")])
    instance.store_event_entries([_materialization("new", "a"), _materialization("new", "c")])
    instance.delete_run("new")
    latest = instance.get_latest_materialization_events(["a", "b", "c"])
    assert latest[dg.AssetKey("a")].run_id == "old"  # type: ignore[union-attr]
    assert latest[dg.AssetKey("c")] is None
    assert set(instance.get_asset_keys()) == {dg.AssetKey("a"), dg.AssetKey("b")}


def test_dynamic_partitions(instance: dg.Instance) -> None:
    assert instance.get_dynamic_partitions("files") == []
    instance.add_dynamic_partitions("files", ["b.csv", "a.csv"])
    instance.add_dynamic_partitions("files", ["a.csv", "c.csv"])
    instance.add_dynamic_partitions("other", ["x"])
    assert instance.get_dynamic_partitions("files") == ["b.csv", "a.csv", "c.csv"]
    assert instance.has_dynamic_partition("files", "c.csv")
    instance.delete_dynamic_partition("files", "a.csv")
    assert instance.get_dynamic_partitions("files") == ["b.csv", "c.csv"]
    assert not instance.has_dynamic_partition("files", "a.csv")
    partitions = dg.DynamicPartitionsDefinition(name="files")
    assert partitions.get_partition_keys(dynamic_partitions_store=instance) == ["b.csv", "c.csv"]
    with pytest.raises(TypeError, match="list of keys"):
        instance.add_dynamic_partitions("files", "d.csv")  # type: ignore[arg-type]


ODD_KEYS = [
    dg.AssetKey(['say "hi"', "back\\slash"]),
    dg.AssetKey(["größe", "🚀", "你好"]),
    dg.AssetKey(["tab\there", "new\nline", "nul\x00", "del\x7f", "sep\u2028"]),
    dg.AssetKey(["a/b", "[1,2]", "{}"]),
    dg.AssetKey(["plain"]),
]


def _materialization_of(run_id: str, key: dg.AssetKey) -> dg.EventLogEntry:
    event = Event(
        EventType.ASSET_MATERIALIZATION, "job", "Materialized", None, dg.AssetMaterialization(key)
    )
    return dg.EventLogEntry.for_event(run_id, event)


def test_latest_materializations_of_keys_with_quotes_escapes_and_unicode(
    instance: dg.Instance,
) -> None:
    # A batch read sends the keys as one JSON array and matches them in the database against
    # the stored key texts, so every kind of character must come back to the same text.
    instance.store_event_entries([_materialization_of("r1", key) for key in ODD_KEYS])
    missing = dg.AssetKey(['say "hi"', "back\\slash", "not stored"])
    many = instance.get_latest_materialization_events([*ODD_KEYS, missing, ODD_KEYS[0]])
    assert set(many) == {*ODD_KEYS, missing}
    assert many[missing] is None
    for key in ODD_KEYS:
        latest = many[key]
        assert latest is not None and latest.event is not None
        assert latest.event.materialization.asset_key == key
        one = instance.get_latest_materialization_event(key)
        assert one is not None and one.event is not None and one.event.asset_key == key


def test_a_batch_read_comes_back_equal_to_what_was_stored(instance: dg.Instance) -> None:
    # 1,500 keys: past the size where decoding pauses the garbage collector.
    entries = [
        _materialization("r1", f"asset_{i}", f"p{i % 3}", rows=i, note=f"n{i}") for i in range(1500)
    ]
    instance.store_event_entries(entries)
    latest = instance.get_latest_materialization_events([f"asset_{i}" for i in range(1500)])
    assert list(latest.values()) == entries
    assert all(type(entry) is dg.EventLogEntry for entry in latest.values())
