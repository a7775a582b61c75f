"""Event-log entries and stored values survive a trip through JSON text, one at a time and in
batches, and bodies written by an older kubedag (fewer fields) still read."""

from __future__ import annotations

import dataclasses
import gc
import json
import pickle
from enum import Enum

import pytest

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.metadata.values import (
    IntMetadataValue,
    InvalidMetadataError,
    MetadataValue,
    TextMetadataValue,
)
from kubedag.definitions.results import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetMaterialization,
)
from kubedag.records.events import (
    ErrorInfo,
    Event,
    EventLogEntry,
    EventType,
    InputData,
    OutputData,
    RunFailureData,
    StepFailureData,
    StepRetryData,
)
from kubedag.storage.serialization import (
    deserialize_entries,
    deserialize_entry,
    dumps,
    loads,
    serialize_entry,
    share_asset_keys,
)

ERROR = ErrorInfo(
    message="ValueError: bad row",
    stack=('  File "etl.py", line 3, in orders\n', '  File "etl.py", line 9, in parse\n'),
    cls_name="ValueError",
    cause=ErrorInfo(
        message="KeyError: 'id'",
        stack=('  File "etl.py", line 12, in lookup\n',),
        cls_name="KeyError",
        cause=ErrorInfo(message="OSError: gone", stack=(), cls_name="OSError"),
    ),
)


class Color(Enum):
    """An enum kubedag does not know: stored as its repr."""

    RED = "red"


class Opaque:
    """A value of a class kubedag does not know: stored as its repr."""

    def __repr__(self) -> str:
        return "Opaque(42)"


def event(
    event_type: EventType, data: object = None, step_key: str | None = "orders"
) -> EventLogEntry:
    return EventLogEntry.for_event(
        "run-1", Event(event_type, "etl", f"{event_type.value} happened.", step_key, data)
    )


ENTRIES = {
    "log message": EventLogEntry(
        "run-1", 1700000000.25, 20, "loaded 3 rows", "etl", "orders", None, {"rows": 3}
    ),
    "log message without extra": EventLogEntry("run-1", 1700000000.5, 10, "hi"),
    "step start": event(EventType.STEP_START),
    "run start without step": event(EventType.RUN_START, step_key=None),
    "materialization": event(
        EventType.ASSET_MATERIALIZATION,
        AssetMaterialization(
            AssetKey(["warehouse", "orders"]),
            metadata={
                "rows": 3,
                "nested": {"upstream": "raw", "columns": ["id", "total"]},
                "upstream": AssetKey("raw"),
                "dashboard": MetadataValue.url("https://dash.example/orders"),
            },
            partition="2024-01-01",
            description="Daily orders",
            tags={"team": "data"},
        ),
    ),
    "step failure": event(
        EventType.STEP_FAILURE, StepFailureData(ERROR, {"hint": "check ids"}, "FRAMEWORK_ERROR")
    ),
    "step retry": event(EventType.STEP_UP_FOR_RETRY, StepRetryData(2, 1.5, ERROR)),
    "check evaluation": event(
        EventType.ASSET_CHECK_EVALUATION,
        AssetCheckEvaluation(
            AssetKey("orders"),
            "no_nulls",
            passed=False,
            metadata={"nulls": 4},
            severity=AssetCheckSeverity.WARN,
            blocking=True,
            description="ids are never null",
        ),
    ),
    "output": event(EventType.HANDLED_OUTPUT, OutputData("result", AssetKey("orders"))),
    "output without asset": event(EventType.STEP_OUTPUT, OutputData("result")),
    "input": event(EventType.LOADED_INPUT, InputData("raw", AssetKey("raw"), "io_manager")),
    "run failure": event(EventType.RUN_FAILURE, RunFailureData(ERROR, ("orders", "summary"))),
    "run failure without error": event(EventType.RUN_FAILURE, RunFailureData(None)),
    "event differing from its entry": EventLogEntry(
        "run-1",
        1700000001.0,
        40,
        "the entry's own message",
        "entry_job",
        "entry_step",
        Event(EventType.ENGINE_EVENT, "event_job", "the event's message", "event_step"),
    ),
    "materialization without metadata or tags": event(
        EventType.ASSET_MATERIALIZATION, AssetMaterialization(AssetKey("orders"))
    ),
    "materialization differing from its entry": EventLogEntry(
        "run-1",
        1700000002.0,
        20,
        "the entry's own message",
        "entry_job",
        "entry_step",
        Event(
            EventType.ASSET_MATERIALIZATION,
            "event_job",
            "the event's message",
            "event_step",
            AssetMaterialization(AssetKey("orders"), {"rows": 1}, "p1"),
            "p1",
        ),
    ),
    "materialization with tags None": event(
        EventType.ASSET_MATERIALIZATION,
        AssetMaterialization(AssetKey("orders"), tags=None),  # type: ignore[arg-type]
    ),
    "planned materialization": event(
        EventType.ASSET_MATERIALIZATION_PLANNED, AssetMaterialization(AssetKey("orders"))
    ),
    "non-ASCII and quotes": event(
        EventType.ASSET_MATERIALIZATION,
        AssetMaterialization(
            AssetKey("größe"), metadata={"note": 'says "hi" — 你好 \\ \n done', "emoji": "🚀"}
        ),
    ),
}


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
def test_an_entry_round_trips(entry: EventLogEntry) -> None:
    assert deserialize_entry(serialize_entry(entry)) == entry


def test_entries_round_trip_as_a_batch() -> None:
    entries = list(ENTRIES.values()) * 100  # more than one parse chunk, and a GC-paused batch
    assert deserialize_entries([serialize_entry(e) for e in entries]) == entries
    assert gc.isenabled()
    assert deserialize_entries([]) == []


def test_tuple_fields_come_back_as_tuples() -> None:
    entry = deserialize_entry(serialize_entry(ENTRIES["run failure"]))
    assert entry.event is not None
    data = entry.event.event_specific_data
    assert isinstance(data, RunFailureData) and data.error is not None
    assert data.failed_steps == ("orders", "summary")
    assert type(data.failed_steps) is tuple
    assert type(data.error.stack) is tuple
    assert data.error == ERROR  # the whole cause chain, stacks as tuples too


def test_materialization_metadata_comes_back_as_metadata_values() -> None:
    entry = deserialize_entry(serialize_entry(ENTRIES["materialization"]))
    assert entry.event is not None
    metadata = entry.event.materialization.metadata
    assert metadata["rows"] == IntMetadataValue(3)
    assert metadata["nested"].value == {"upstream": "raw", "columns": ["id", "total"]}
    assert metadata["upstream"].value == AssetKey("raw")
    assert metadata["dashboard"] == MetadataValue.url("https://dash.example/orders")
    assert entry.event.asset_key == AssetKey(["warehouse", "orders"])


def test_values_of_unknown_classes_are_refused_as_metadata() -> None:
    # As in the reference: a value with no metadata kind is an error naming the key, when the
    # event is built, instead of a lossy string in the event log.
    with pytest.raises(InvalidMetadataError, match=r"'thing'.*Opaque"):
        AssetMaterialization(AssetKey("orders"), metadata={"thing": Opaque()})
    with pytest.raises(InvalidMetadataError, match=r"'color'.*Color"):
        AssetMaterialization(AssetKey("orders"), metadata={"color": Color.RED})


def test_raw_values_stored_by_an_older_version_read_as_metadata_values() -> None:
    row = json.loads(serialize_entry(ENTRIES["materialization without metadata or tags"]))
    row[6][2] = {"rows": 3, "thing": "Opaque(42)", "upstream": {"__k": ["raw"]}}
    entry = deserialize_entry(json.dumps(row))
    assert entry.event is not None
    assert entry.event.materialization.metadata == {
        "rows": IntMetadataValue(3),
        "thing": TextMetadataValue("Opaque(42)"),
        "upstream": MetadataValue.asset(AssetKey("raw")),
    }


def test_an_unknown_class_is_an_error_naming_a_newer_kubedag() -> None:
    body = serialize_entry(ENTRIES["output"]).replace('"OutputData(', '"FancyData(')
    with pytest.raises(ValueError, match=r"FancyData.*newer kubedag"):
        deserialize_entry(body)
    with pytest.raises(ValueError, match="newer kubedag"):
        deserialize_entries([body])


def test_an_unknown_event_type_is_an_error_naming_a_newer_kubedag() -> None:
    body = serialize_entry(ENTRIES["step start"]).replace('"STEP_START"', '"STEP_PAUSED"')
    with pytest.raises(ValueError, match=r"STEP_PAUSED.*newer kubedag"):
        deserialize_entry(body)


def _with_data(stored_data: list[object]) -> str:
    """A materialization entry body whose event data is `stored_data`, as an older kubedag
    (different fields) would have written it."""
    row = json.loads(serialize_entry(event(EventType.ASSET_MATERIALIZATION)))
    row[6][1] = {"__c": stored_data}
    return json.dumps(row)


def test_a_body_without_a_newer_field_reads_with_its_default() -> None:
    body = _with_data(
        ["AssetMaterialization(asset_key,metadata,partition)", {"__k": ["orders"]}, {"n": 1}, "p1"]
    )
    entry = deserialize_entry(body)
    assert entry.event is not None
    assert entry.event.materialization == AssetMaterialization(AssetKey("orders"), {"n": 1}, "p1")
    assert entry.event.materialization.tags == {}  # a default factory, not a shared dict
    assert entry.event.materialization.description is None


def test_a_body_with_fields_reordered_or_since_removed_still_reads() -> None:
    body = _with_data(
        [
            "AssetMaterialization(partition,retired,asset_key,tags,metadata,description)",
            None,
            "old value",
            {"__k": ["orders"]},
            {"team": "data"},
            {},
            "Daily",
        ]
    )
    assert deserialize_entry(body).event == Event(
        EventType.ASSET_MATERIALIZATION,
        "etl",
        "ASSET_MATERIALIZATION happened.",
        "orders",
        AssetMaterialization(AssetKey("orders"), {}, None, "Daily", {"team": "data"}),
    )


def test_a_body_without_a_required_field_is_an_error_naming_it() -> None:
    body = _with_data(["AssetMaterialization(metadata)", {}])
    with pytest.raises(ValueError, match=r"'asset_key'.*no default"):
        deserialize_entry(body)


def test_a_batch_body_that_is_not_one_array_is_an_error() -> None:
    good = serialize_entry(ENTRIES["step start"])
    with pytest.raises(ValueError, match="not exactly one JSON array"):
        deserialize_entries([good + "," + good])


@pytest.mark.parametrize(
    "value",
    [
        {"cursor": "2024-01-01", "seen": [1, 2, 3]},
        ERROR,
        [AssetKey(["a", "b"]), frozenset({AssetKey("c")}), AssetCheckSeverity.ERROR],
        {"data": StepFailureData(ERROR), "none": None},
    ],
    ids=["plain", "error", "keys sets enums", "nested dataclass"],
)
def test_stored_values_round_trip(value: object) -> None:
    assert loads(dumps(value)) == value


def test_decoded_objects_are_ordinary_frozen_instances() -> None:
    # Decoding builds objects without `__init__`; they must still behave like built ones.
    entry = deserialize_entries([serialize_entry(ENTRIES["materialization"])] * 1200)[0]
    assert type(entry) is EventLogEntry and entry.event is not None
    materialization = entry.event.materialization
    assert type(entry.event) is Event and type(materialization) is AssetMaterialization
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.run_id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        materialization.partition = "other"  # type: ignore[misc]
    failure = deserialize_entries([serialize_entry(ENTRIES["step failure"])] * 1200)[0]
    assert pickle.loads(pickle.dumps(failure)) == failure == ENTRIES["step failure"]
    assert dataclasses.replace(materialization, partition="p2").partition == "p2"
    assert repr(entry) == repr(ENTRIES["materialization"])


def test_decoded_asset_keys_are_shared_and_can_be_the_callers_own() -> None:
    body = serialize_entry(event(EventType.HANDLED_OUTPUT, OutputData("result", AssetKey("k1"))))
    first, second = deserialize_entries([body, body])
    assert first.event is not None and second.event is not None
    assert first.event.asset_key is second.event.asset_key  # one object per path
    mine = AssetKey(["shared", "key"])
    share_asset_keys([mine])
    stored = serialize_entry(event(EventType.HANDLED_OUTPUT, OutputData("o", AssetKey(mine.path))))
    decoded = deserialize_entry(stored)
    assert decoded.event is not None and decoded.event.asset_key is mine


def test_a_materialization_is_stored_as_one_flat_array() -> None:
    plain = serialize_entry(ENTRIES["materialization without metadata or tags"])
    assert json.loads(plain)[6][0] == "M"
    assert "{" not in plain  # no JSON object to parse: empty metadata and tags are null
    rich = json.loads(serialize_entry(ENTRIES["materialization"]))
    assert rich[6][:2] == ["M", ["warehouse", "orders"]]
    # Data that the flat row cannot carry exactly keeps the general form.
    for name in ("materialization with tags None", "planned materialization"):
        assert json.loads(serialize_entry(ENTRIES[name]))[6][0] != "M"


# A materialization body in the general form, as kubedag wrote every materialization before the
# flat form: event logs written then must read the same.
GENERAL_FORM_BODY = (
    '["run-1",1700000000.5,20,"Materialized.","etl","orders",["ASSET_MATERIALIZATION",'
    '{"__c":["AssetMaterialization(asset_key,metadata,partition,description,tags)",'
    '{"__k":["warehouse","orders"]},{"rows":3,"upstream":{"__k":["raw"]}},"2024-01-01",'
    '"Daily",{"team":"data"}]},"2024-01-01"],null]'
)


def test_a_materialization_in_the_general_form_still_reads() -> None:
    expected = EventLogEntry(
        "run-1",
        1700000000.5,
        20,
        "Materialized.",
        "etl",
        "orders",
        Event(
            EventType.ASSET_MATERIALIZATION,
            "etl",
            "Materialized.",
            "orders",
            AssetMaterialization(
                AssetKey(["warehouse", "orders"]),
                {"rows": 3, "upstream": AssetKey("raw")},
                "2024-01-01",
                "Daily",
                {"team": "data"},
            ),
            "2024-01-01",
        ),
    )
    assert deserialize_entry(GENERAL_FORM_BODY) == expected
    flat = serialize_entry(expected)
    assert deserialize_entries([GENERAL_FORM_BODY, flat]) == [expected, expected]
