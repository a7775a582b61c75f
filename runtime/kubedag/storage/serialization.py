"""Events and runs as JSON text, for storages that outlive the process.

Only known classes are rebuilt on the way back (a fixed registry, never pickle), so reading an
event log can never run code. A value of an unknown type inside user metadata is stored as its
`repr` and comes back as that string: metadata is for people to read, and a lossy string beats
refusing to record the event.

Reading 10,000 latest materializations in one call must stay well under 100 ms including SQL,
and decoding is most of it, so an event-log entry is stored in the shape that is cheapest to
take apart in Python: positional JSON arrays, parsed by `json` without hooks.

- An entry is `[run_id, timestamp, level, user_message, job_name, step_key, event, extra]`; its
  event is `[event_type, event_specific_data, partition]`, followed by the event's own
  `job_name, message, step_key` only when they differ from the entry's (they almost never do).
- A materialization, the event read 10,000 at a time, is flat instead (its int, float, bool
  and text metadata values as plain JSON values, see `metadata_codec`):
  `["M", key_path, metadata, partition, description, tags, event_partition]` (plus the same
  optional three), empty metadata and tags as `null`. JSON objects cost several times what
  arrays and scalars cost to parse, and this form has none where the general one has four
  (the class tag, the key tag, metadata, tags): it parses in a third of the time and is built
  without the generic walk. Bodies in the general form, as older versions wrote them, still
  decode.
- Values JSON has no form for are single-key objects tagged by kind: `{"__k": path}` for an
  asset key, `{"__e": "Enum.member"}`, `{"__s": items}` for a set, `{"__r": repr}`, and
  `{"__c": ["Class(field,…)", value, …]}` for a registered dataclass. Its field names are stored
  once, in that first string, so a body written before a field was added (or moved, or dropped)
  still decodes, an added field taking its default; a class this version does not know is an
  error that says so.
- Decoding walks the parsed arrays and dicts once, skipping scalars and empty containers, and
  replaces tagged objects. The frozen, slotted dataclasses are built without `__init__`, by a
  function compiled per stored layout (`rebuild`). Decoded asset keys are shared per path.
  `deserialize_entries` parses bodies a few hundred at a time as one JSON array.

`dumps`/`loads` (runs, tags, cursors, ticks) use the same tags and the same walk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import operator
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from typing import Any, cast

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.expectations import ExpectationResult
from kubedag.definitions.observations import AssetObservation
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
    HookErroredData,
    InputData,
    OutputData,
    RunFailureData,
    StepFailureData,
    StepInputData,
    StepRetryData,
    TypeCheckData,
)
from kubedag.records.run import Run, RunStatus
from kubedag.storage import metadata_codec
from kubedag.storage.rebuild import Builder, building_twin, compile_builder

_CLASS_TAG = "__c"
_ENUM_TAG = "__e"
_KEY_TAG = "__k"
_REPR_TAG = "__r"
_SET_TAG = "__s"

_DATACLASSES: tuple[type, ...] = (
    Event,
    ErrorInfo,
    StepFailureData,
    StepRetryData,
    OutputData,
    InputData,
    RunFailureData,
    AssetMaterialization,
    AssetCheckEvaluation,
    ExpectationResult,
    HookErroredData,
    TypeCheckData,
    StepInputData,
    AssetObservation,
)
_ENUMS: tuple[type[Enum], ...] = (EventType, AssetCheckSeverity, RunStatus)
_ENUM_BY_NAME: dict[str, type[Enum]] = {cls.__name__: cls for cls in _ENUMS}
_EVENT_TYPES: dict[str, EventType] = {member.value: member for member in EventType}
_new = object.__new__


# -- registered dataclasses ---------------------------------------------------------------------
def _layout_string(cls: type) -> str:
    return f"{cls.__name__}({','.join(f.name for f in dataclasses.fields(cls))})"


def _default_of(field: dataclasses.Field[Any]) -> Callable[[], Any] | None:
    if field.default is not dataclasses.MISSING:
        value = field.default
        return lambda: value
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory
    return None


def _compile_layout(layout: str) -> Builder:
    """The builder for a layout string, checked against the class as it is now: fields stored
    but since removed are ignored, fields added since take their defaults."""
    name, _, rest = layout.partition("(")
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown stored class {name!r}; written by a newer kubedag?")
    stored = rest.removesuffix(")").split(",") if rest != ")" else []
    fields = {f.name: f for f in dataclasses.fields(cls)}
    missing = []
    for field_name, field in fields.items():
        if field_name not in stored:
            default = _default_of(field)
            if default is None:
                raise ValueError(
                    f"Stored {name} has no value for {field_name!r}, which has no default; "
                    "give the field a default so that older event logs stay readable."
                )
            missing.append((field_name, default))
    return compile_builder(
        cls,
        1 + len(stored),
        [(index, n) for index, n in enumerate(stored, 1) if n in fields],
        frozenset(n for n, f in fields.items() if str(f.type).startswith("tuple")),
        missing,
        _revive,
    )


def _fields_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A C-speed getter of all field values; `attrgetter` of one name would not give a tuple."""
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) == 1:
        return lambda value: (getattr(value, names[0]),)
    return operator.attrgetter(*names)


_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in _DATACLASSES}
_ENCODERS: dict[type, tuple[str, Callable[[Any], tuple[Any, ...]]]] = {
    cls: (_layout_string(cls), _fields_getter(cls)) for cls in _DATACLASSES
}
# Builders of the layouts seen so far: the current one of every class is compiled once the
# revivers below exist, older ones as bodies bring them.
_BUILDERS: dict[str, Builder] = {}


def _rebuild(stored: list[Any]) -> Any:
    """A dataclass back from `["Class(field,…)", value, …]`, without running its `__init__`
    (see `rebuild`): skipping frozen-field validation makes reading 10,000 materializations
    several times cheaper, and what was stored was valid when it was written."""
    build = _BUILDERS.get(stored[0])
    if build is None:
        build = _BUILDERS[stored[0]] = _compile_layout(stored[0])
    return build(stored)


# -- asset keys ---------------------------------------------------------------------------------
# Decoded keys, shared: a process reads the same assets again and again (the daemon's automation
# evaluation, a UI), and an asset key is immutable, so one instance per path serves every read;
# a known key costs a dictionary lookup instead of a new object. Bounded: emptied when full.
_ASSET_KEYS: dict[tuple[str, ...], AssetKey] = {}
_ASSET_KEYS_KEPT = 50_000
_PATH = operator.attrgetter("path")


def share_asset_keys(keys: Sequence[AssetKey]) -> None:
    """Decode these paths as these very key objects from now on: a caller that knows which keys
    it is about to read gets its own keys back, which its dictionaries find by identity."""
    if len(_ASSET_KEYS) + len(keys) > _ASSET_KEYS_KEPT:
        _ASSET_KEYS.clear()
    _ASSET_KEYS.update(zip(map(_PATH, keys), keys, strict=True))


def _stored_asset_key(path: list[str]) -> AssetKey:
    parts = tuple(path)
    key = _ASSET_KEYS.get(parts)
    if key is None:
        if len(_ASSET_KEYS) >= _ASSET_KEYS_KEPT:
            _ASSET_KEYS.clear()
        key = _ASSET_KEYS[parts] = AssetKey.from_stored_path(parts)
    return key


# -- tagged values ------------------------------------------------------------------------------
def _encode_default(value: Any) -> Any:
    """Called by `json.dumps` for whatever JSON has no form for."""
    known = _ENCODERS.get(type(value))
    if known is not None:
        layout, field_values = known
        return {_CLASS_TAG: [layout, *field_values(value)]}
    metadata_value = metadata_codec.encode(value)  # `{"__m": …}`, see metadata_codec
    if metadata_value is not None:
        return metadata_value
    if isinstance(value, AssetKey):
        return {_KEY_TAG: value.path}
    if isinstance(value, Enum) and type(value).__name__ in _ENUM_BY_NAME:
        return {_ENUM_TAG: f"{type(value).__name__}.{value.name}"}
    if isinstance(value, frozenset | set):
        return {_SET_TAG: sorted(value, key=repr)}
    return {_REPR_TAG: repr(value)}


def _enum_member(stored: str) -> Enum:
    enum_name, _, member = stored.partition(".")
    try:
        return _ENUM_BY_NAME[enum_name][member]
    except KeyError:
        raise ValueError(f"Unknown stored enum {stored!r}; written by a newer kubedag?") from None


# What each tag's payload stands for. Only a class's values and a set's items can hold more
# tagged values; the other payloads are strings.
_REVIVERS: dict[str, Callable[[Any], Any]] = {
    _CLASS_TAG: _rebuild,
    _KEY_TAG: _stored_asset_key,
    _ENUM_TAG: _enum_member,
    _REPR_TAG: str,
    _SET_TAG: lambda items: frozenset(_revive(items)),
    metadata_codec.METADATA_TAG: lambda stored: metadata_codec.decode(stored, _revive),
}


def _revive(value: Any) -> Any:
    """Parsed JSON with its tagged objects replaced by what they stand for. Lists and dicts are
    changed in place: they were just parsed and belong to no one else. Empty containers and
    scalars are skipped before a call, which matters at 10,000 entries."""
    if type(value) is dict:
        if len(value) == 1:
            ((tag, payload),) = value.items()
            revive_tagged = _REVIVERS.get(tag)
            if revive_tagged is not None:
                return revive_tagged(payload)
        for key, item in value.items():
            if item and (type(item) is dict or type(item) is list):
                value[key] = _revive(item)
    elif type(value) is list:
        for index, item in enumerate(value):
            if item and (type(item) is dict or type(item) is list):
                value[index] = _revive(item)
    return value


_BUILDERS.update((layout, _compile_layout(layout)) for layout, _ in _ENCODERS.values())

_encoder = json.JSONEncoder(
    default=_encode_default, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
_encode: Callable[[Any], str] = _encoder.encode
_decode_plain: Callable[[str], Any] = json.JSONDecoder().decode
# Event bodies are ours and have no whitespace around them: `raw_decode` skips the two regex
# matches `decode` spends on it, a third of parsing a short body.
_parse: Callable[[str], tuple[Any, int]] = json.JSONDecoder().raw_decode
# Bodies parsed as one array: enough to share the per-call cost of parsing, few enough that each
# parsed row is still in the CPU cache when its entry is built (one array of 10,000 is slower).
_PARSE_CHUNK = 200


def dumps(value: Any) -> str:
    """Any value made of JSON types, registered dataclasses, enums and asset keys, as JSON."""
    return _encode(value)


def loads(text: str) -> Any:
    """A value written by `dumps`, with its dataclasses, enums, asset keys and sets back."""
    return _revive(_decode_plain(text))


@contextlib.contextmanager
def bulk_decoding(count: int) -> Iterator[None]:
    """Pause the cyclic garbage collector while decoding many stored events at once.

    Decoding 10,000 events creates ~100,000 container objects and no cycles; the collector's
    repeated passes over them cost a third of the decode. Small reads are left alone."""
    if count < 1000 or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# -- event-log entries --------------------------------------------------------------------------
def serialize_entry(entry: EventLogEntry) -> str:
    """An event-log entry as one positional JSON array (see the module docstring)."""
    event = entry.event
    return _encode(
        [
            entry.run_id,
            entry.timestamp,
            entry.level,
            entry.user_message,
            entry.job_name,
            entry.step_key,
            _event_row(entry, event) if event is not None else None,
            entry.extra or None,
        ]
    )


def _event_row(entry: EventLogEntry, event: Event) -> list[Any]:
    data = event.event_specific_data
    row: list[Any]
    if (
        event.event_type is _ASSET_MATERIALIZATION
        and type(data) is AssetMaterialization
        and type(data.metadata) is dict
        and type(data.tags) is dict
    ):
        row = [
            _MATERIALIZED,
            data.asset_key.path,
            metadata_codec.compact_metadata(data.metadata) if data.metadata else None,
            data.partition,
            data.description,
            data.tags or None,
            event.partition,
        ]
    else:
        row = [event.event_type.value, data, event.partition]
    if (
        event.job_name != entry.job_name
        or event.message != entry.user_message
        or event.step_key != entry.step_key
    ):
        row += [event.job_name, event.message, event.step_key]
    return row


def deserialize_entry(text: str) -> EventLogEntry:
    """One stored entry; for many, `deserialize_entries`."""
    row, end = _parse(text)
    if end != len(text):
        raise ValueError(f"Stored event body has data after its end (at {end}): {text[:80]!r}…")
    return _entry(row)


def deserialize_entries(bodies: Sequence[str]) -> list[EventLogEntry]:
    """Many stored entries, in order: cheaper per entry than `deserialize_entry` in a loop, and
    with the garbage collector paused for large batches."""
    entries: list[EventLogEntry] = []
    with bulk_decoding(len(bodies)):
        for start in range(0, len(bodies), _PARSE_CHUNK):
            chunk = bodies[start : start + _PARSE_CHUNK]
            text = "[" + ",".join(chunk) + "]"
            rows, end = _parse(text)
            if end != len(text) or len(rows) != len(chunk):
                raise ValueError("A stored event body is not exactly one JSON array.")
            entries += map(_entry, rows)
    return entries


# Built as twins and then given their class (see `rebuild`); the stored shape is positional, so a
# field added to either class must be added to `serialize_entry` and below, which this checks.
_BuildingEntry = building_twin(EventLogEntry)
_BuildingEvent = building_twin(Event)
_BuildingMaterialization = building_twin(AssetMaterialization)
_MATERIALIZED = "M"  # the first item of a flat materialization event (see the module docstring)
_ASSET_MATERIALIZATION = EventType.ASSET_MATERIALIZATION  # a global read, not an enum lookup
_ENTRY_FIELDS = [
    "run_id",
    "timestamp",
    "level",
    "user_message",
    "job_name",
    "step_key",
    "event",
    "extra",
]
_EVENT_FIELDS = [
    "event_type",
    "job_name",
    "message",
    "step_key",
    "event_specific_data",
    "partition",
]
_MATERIALIZATION_FIELDS = ["asset_key", "metadata", "partition", "description", "tags"]
if (
    list(EventLogEntry.__slots__) != _ENTRY_FIELDS
    or list(Event.__slots__) != _EVENT_FIELDS
    or list(AssetMaterialization.__slots__) != _MATERIALIZATION_FIELDS
):
    raise TypeError(
        "EventLogEntry, Event or AssetMaterialization changed fields: update serialization's "
        "entry rows (a flat materialization row that changes shape needs a new marker, so "
        "that stored bodies of the old shape still decode)."
    )


def _entry(row: list[Any]) -> EventLogEntry:
    run_id, timestamp, level, message, job_name, step_key, event_row, extra = row
    entry: Any = _new(_BuildingEntry)
    entry.run_id = run_id
    entry.timestamp = timestamp
    entry.level = level
    entry.user_message = message
    entry.job_name = job_name
    entry.step_key = step_key
    if event_row and event_row[0] == _MATERIALIZED:
        # A flat materialization, built here rather than in helpers: at 10,000 entries the
        # calls to them were a quarter of the decode.
        if len(event_row) == 7:
            _, path, metadata, partition, description, tags, event_partition = event_row
            own_job, own_message, own_step = job_name, message, step_key
        else:
            _, path, metadata, partition, description, tags, event_partition, *own = event_row
            own_job, own_message, own_step = own
        data: Any = _new(_BuildingMaterialization)
        data.asset_key = _stored_asset_key(path)
        data.metadata = metadata_codec.stored_metadata(_revive(metadata)) if metadata else {}
        data.partition = partition
        data.description = description
        data.tags = _revive(tags) if tags else {}
        data.__class__ = AssetMaterialization
        event: Any = _new(_BuildingEvent)
        event.event_type = _ASSET_MATERIALIZATION
        event.job_name = own_job
        event.message = own_message
        event.step_key = own_step
        event.event_specific_data = data
        event.partition = event_partition
        event.__class__ = Event
        entry.event = event
    else:
        entry.event = _event(event_row, job_name, message, step_key) if event_row else None
    entry.extra = _revive(extra) if extra else {}
    entry.__class__ = EventLogEntry
    return cast(EventLogEntry, entry)


def _event(row: list[Any], job_name: str, message: str, step_key: str | None) -> Event:
    """An event from `[type, data, partition]`, plus `job_name, message, step_key` when they
    differ from the entry's (a flat materialization is built by `_entry`)."""
    if len(row) == 3:
        type_value, data, partition = row
    else:
        type_value, data, partition, job_name, message, step_key = row
    event_type = _EVENT_TYPES.get(type_value)
    if event_type is None:
        raise ValueError(f"Unknown stored event type {type_value!r}; written by a newer kubedag?")
    if type(data) is dict and len(data) == 1 and _CLASS_TAG in data:  # nearly always
        data = metadata_codec.with_metadata_values(_rebuild(data[_CLASS_TAG]))
    elif data:
        data = _revive(data)
    event: Any = _new(_BuildingEvent)
    event.event_type = event_type
    event.job_name = job_name
    event.message = message
    event.step_key = step_key
    event.event_specific_data = data
    event.partition = partition
    event.__class__ = Event
    return cast(Event, event)


# -- runs ---------------------------------------------------------------------------------------
def serialize_run(run: Run) -> str:
    return _encode(
        {
            "job_name": run.job_name,
            "run_id": run.run_id,
            "run_config": run.run_config,
            "status": run.status.value,
            "tags": run.tags,
            "parent_run_id": run.parent_run_id,
            "root_run_id": run.root_run_id,
            "asset_selection": sorted(k.to_user_string() for k in run.asset_selection)
            if run.asset_selection is not None
            else None,
            "asset_check_selection": sorted(run.asset_check_selection, key=repr)
            if run.asset_check_selection is not None
            else None,
            "step_keys_to_execute": run.step_keys_to_execute,
            "partition": run.partition,
            "code_location": run.code_location,
        }
    )


def deserialize_run(text: str, status: str | None = None) -> Run:
    """A stored run. `status` (the indexed column) wins over the copy inside the body."""
    data = loads(text)
    selection = data.get("asset_selection")
    checks = data.get("asset_check_selection")
    steps = data.get("step_keys_to_execute")
    return Run(
        job_name=data["job_name"],
        run_id=data["run_id"],
        run_config=data.get("run_config") or {},
        status=RunStatus(status or data["status"]),
        tags=data.get("tags") or {},
        parent_run_id=data.get("parent_run_id"),
        root_run_id=data.get("root_run_id"),
        asset_selection=frozenset(AssetKey.from_user_string(k) for k in selection)
        if selection is not None
        else None,
        asset_check_selection=frozenset(checks) if checks is not None else None,
        step_keys_to_execute=tuple(steps) if steps is not None else None,
        partition=data.get("partition"),
        code_location=data.get("code_location"),
    )
