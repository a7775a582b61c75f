"""Schedule storage: schedule and sensor state, ticks, and purging old ticks."""

from __future__ import annotations

from dataclasses import replace

import pytest

import kubedag as dg
from kubedag.records.events import ErrorInfo
from kubedag.storage.records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    Tick,
    TickStatus,
)


def _state(name: str, kind: InstigatorType = InstigatorType.SCHEDULE) -> InstigatorState:
    return InstigatorState(f"loc:{name}", name, kind, InstigatorStatus.RUNNING)


def test_instigator_state_lifecycle(instance: dg.Instance) -> None:
    daily = instance.add_instigator_state(_state("daily"))
    assert daily.update_timestamp is not None
    instance.add_instigator_state(_state("new_files", InstigatorType.SENSOR))
    with pytest.raises(ValueError, match="already exists"):
        instance.add_instigator_state(_state("daily"))
    stopped = replace(
        daily, status=InstigatorStatus.STOPPED, cursor="42", data={"last_key": ["a", "b"]}
    )
    instance.update_instigator_state(stopped)
    loaded = instance.get_instigator_state("loc:daily")
    assert loaded is not None
    assert (loaded.status, loaded.cursor, loaded.data) == (
        InstigatorStatus.STOPPED,
        "42",
        {"last_key": ["a", "b"]},
    )
    assert not loaded.is_running
    sensors = instance.all_instigator_state(InstigatorType.SENSOR)
    assert [s.name for s in sensors] == ["new_files"]
    assert len(instance.all_instigator_state()) == 2
    instance.update_instigator_state(_state("created_by_update"))
    assert instance.get_instigator_state("loc:created_by_update") is not None
    instance.delete_instigator_state("loc:daily")
    assert instance.get_instigator_state("loc:daily") is None


def test_ticks_are_stored_updated_and_listed_newest_first(instance: dg.Instance) -> None:
    selector = "loc:daily"
    ticks = [
        instance.create_tick(Tick(selector, InstigatorType.SCHEDULE, TickStatus.STARTED, t))
        for t in (100.0, 200.0, 300.0)
    ]
    assert [t.tick_id for t in ticks] == sorted({t.tick_id for t in ticks})
    instance.create_tick(Tick("loc:other", InstigatorType.SCHEDULE, TickStatus.SKIPPED, 150.0))
    error = ErrorInfo("RuntimeError: boom", ("frame\n",), "RuntimeError")
    done = replace(
        ticks[1],
        status=TickStatus.FAILURE,
        end_timestamp=201.0,
        error=error,
        run_ids=("r1", "r2"),
        run_keys=("k1",),
        cursor="c",
        skip_reason=None,
    )
    instance.update_tick(done)
    listed = instance.get_ticks(selector)
    assert [t.timestamp for t in listed] == [300.0, 200.0, 100.0]
    assert listed[1] == done
    assert listed[1].is_finished and not listed[0].is_finished
    assert [t.timestamp for t in instance.get_ticks(selector, before=300.0, after=100.0)] == [200.0]
    assert [t.timestamp for t in instance.get_ticks(selector, limit=1)] == [300.0]
    failed = instance.get_ticks(selector, statuses=[TickStatus.FAILURE])
    assert [t.tick_id for t in failed] == [done.tick_id]
    with pytest.raises(KeyError):
        instance.update_tick(replace(done, tick_id=10_000))


def test_purging_old_ticks(instance: dg.Instance) -> None:
    selector = "loc:sensor"
    for timestamp, status in [
        (10.0, TickStatus.SKIPPED),
        (20.0, TickStatus.SUCCESS),
        (30.0, TickStatus.SKIPPED),
        (40.0, TickStatus.SKIPPED),
    ]:
        instance.create_tick(Tick(selector, InstigatorType.SENSOR, status, timestamp))
    assert instance.purge_ticks(selector, before=35.0, statuses=[TickStatus.SKIPPED]) == 2
    assert [t.timestamp for t in instance.get_ticks(selector)] == [40.0, 20.0]
    assert instance.purge_ticks(selector, before=100.0) == 2
    assert instance.get_ticks(selector) == []
