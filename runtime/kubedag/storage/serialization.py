"""Events and runs as JSON text, for storages that outlive the process.

Only known classes are rebuilt on the way back (a fixed registry, never pickle), so reading an
event log can never run code. A value of an unknown type inside user metadata is stored as its
`repr` and comes back as that string: metadata is for people to read, and a lossy string beats
refusing to record the event.

Encoding is a single `json.dumps` with a `default` hook; decoding is a single `json.loads` with
an `object_hook` that looks the class up by a short tag. Field names per class are computed once.
Reading 10,000 latest materializations in one call must stay well under 100 ms, so nothing here
walks the structure twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.results import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetMaterialization,
)
from kubedag.execution.events import (
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
from kubedag.runs.run import Run, RunStatus

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
)
_ENUMS: tuple[type[Enum], ...] = (EventType, AssetCheckSeverity, RunStatus)


@dataclasses.dataclass(frozen=True)
class _ClassInfo:
    cls: type
    field_names: tuple[str, ...]
    tuple_fields: frozenset[str]
    defaults: dict[str, Any]
    factories: dict[str, Callable[[], Any]]


def _class_info(cls: type) -> _ClassInfo:
    fields = dataclasses.fields(cls)
    tuples = frozenset(f.name for f in fields if str(f.type).startswith("tuple"))
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    factories = {
        f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING
    }
    return _ClassInfo(cls, tuple(f.name for f in fields), tuples, defaults, factories)


def _rebuild(info: _ClassInfo, stored: dict[str, Any]) -> Any:
    """A stored dataclass back, without running its `__init__`: what was stored was valid
    when it was written, and skipping frozen-field validation makes reading 10,000
    materializations several times cheaper. Fields added since take their defaults."""
    value: Any = object.__new__(info.cls)
    attributes = value.__dict__
    attributes.update(info.defaults)
    for name, factory in info.factories.items():
        attributes[name] = factory()
    for name, item in stored.items():
        if name != _CLASS_TAG:
            attributes[name] = item
    for name in info.tuple_fields:
        if isinstance(attributes.get(name), list):
            attributes[name] = tuple(attributes[name])
    return value


_BY_NAME: dict[str, _ClassInfo] = {cls.__name__: _class_info(cls) for cls in _DATACLASSES}
_BY_CLASS: dict[type, tuple[str, _ClassInfo]] = {
    info.cls: (name, info) for name, info in _BY_NAME.items()
}
_ENUM_BY_NAME: dict[str, type[Enum]] = {cls.__name__: cls for cls in _ENUMS}


def _encode_default(value: Any) -> Any:
    """Called by `json.dumps` for whatever JSON has no form for."""
    known = _BY_CLASS.get(type(value))
    if known is not None:
        name, info = known
        encoded = {_CLASS_TAG: name}
        for field_name in info.field_names:
            encoded[field_name] = getattr(value, field_name)
        return encoded
    if isinstance(value, AssetKey):
        return {_KEY_TAG: list(value.path)}
    if isinstance(value, Enum) and type(value).__name__ in _ENUM_BY_NAME:
        return {_ENUM_TAG: f"{type(value).__name__}.{value.name}"}
    if isinstance(value, frozenset | set):
        return {_SET_TAG: sorted(value, key=repr)}
    return {_REPR_TAG: repr(value)}


def _decode_object(obj: dict[str, Any]) -> Any:
    """Called by `json.loads` for every JSON object, innermost first."""
    if len(obj) != 1:
        name = obj.get(_CLASS_TAG)
        if name is None:
            return obj
        info = _BY_NAME.get(name)
        if info is None:
            raise ValueError(f"Unknown stored class {name!r}; written by a newer kubedag?")
        return _rebuild(info, obj)
    ((tag, payload),) = obj.items()
    if tag == _KEY_TAG:
        return AssetKey(payload)
    if tag == _ENUM_TAG:
        enum_name, _, member = payload.partition(".")
        return _ENUM_BY_NAME[enum_name][member]
    if tag == _REPR_TAG:
        return payload
    if tag == _SET_TAG:
        return frozenset(payload)
    return obj


_encoder = json.JSONEncoder(
    default=_encode_default, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
_encode: Callable[[Any], str] = _encoder.encode
_decoder = json.JSONDecoder(object_hook=_decode_object)
_decode: Callable[[str], Any] = _decoder.decode


def dumps(value: Any) -> str:
    """Any value made of JSON types, registered dataclasses, enums and asset keys, as JSON."""
    return _encode(value)


def loads(text: str) -> Any:
    return _decode(text)


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
    """An event-log entry as one JSON array: compact, and cheap to take apart again."""
    return _encode(
        [
            entry.run_id,
            entry.timestamp,
            entry.level,
            entry.user_message,
            entry.job_name,
            entry.step_key,
            entry.event,
            entry.extra or None,
        ]
    )


def deserialize_entry(text: str) -> EventLogEntry:
    run_id, timestamp, level, message, job_name, step_key, event, extra = _decode(text)
    return EventLogEntry(run_id, timestamp, level, message, job_name, step_key, event, extra or {})


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
    data = _decode(text)
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
