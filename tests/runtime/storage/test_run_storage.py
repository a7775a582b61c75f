"""Run storage: runs, their status and tags, filters and pages, key-values and heartbeats."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

import kubedag as dg
from kubedag.errors import RunStatusTransitionError
from kubedag.storage.memory import InMemoryRunStorage
from kubedag.storage.records import DaemonHeartbeat, RunsFilter


def _runs(instance: dg.Instance, count: int, **kwargs: object) -> list[dg.Run]:
    return [instance.create_run(job_name="job", **kwargs) for _ in range(count)]  # type: ignore[arg-type]


def test_a_run_round_trips_with_everything_it_was_given(instance: dg.Instance) -> None:
    created = instance.create_run(
        job_name="etl",
        run_config={"ops": {"a": {"config": {"n": 1}}}},
        tags={"team": "data", "kubedag/partition": "2024-01-01"},
        parent_run_id="parent",
        root_run_id="root",
        asset_selection=[dg.AssetKey(["raw", "orders"]), dg.AssetKey("summary")],
        step_keys_to_execute=("a", "b"),
        partition="2024-01-01",
    )
    loaded = instance.get_run_by_id(created.run_id)
    assert loaded == created
    assert loaded is not None and loaded.status is dg.RunStatus.NOT_STARTED
    assert instance.get_run_by_id("missing") is None


def test_a_run_id_is_unique(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="job")
    with pytest.raises(ValueError, match="already exists"):
        instance.create_run(job_name="job", run_id=run.run_id)


def test_status_changes_set_start_and_end_times(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="job")
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.start_time is None and record.end_time is None
    started = instance.update_run_status(run.run_id, dg.RunStatus.STARTED)
    assert started.status is dg.RunStatus.STARTED
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.start_time is not None and record.end_time is None
    first_start = record.start_time
    instance.update_run_status(run.run_id, dg.RunStatus.STARTED)
    instance.update_run_status(run.run_id, dg.RunStatus.SUCCESS)
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None
    assert record.start_time == first_start
    assert record.end_time is not None and record.end_time >= first_start
    assert record.update_timestamp >= record.create_timestamp
    assert record.run.is_success


def test_filters_combine_with_and(instance: dg.Instance) -> None:
    a = instance.create_run(job_name="a", tags={"team": "x", "env": "prod"})
    b = instance.create_run(job_name="b", tags={"team": "y", "env": "prod"})
    c = instance.create_run(job_name="a", tags={"team": "y"})
    instance.update_run_status(b.run_id, dg.RunStatus.FAILURE)

    def ids(flt: RunsFilter) -> set[str]:
        return {r.run_id for r in instance.get_runs(flt)}

    assert ids(RunsFilter(job_name="a")) == {a.run_id, c.run_id}
    assert ids(RunsFilter(statuses=[dg.RunStatus.FAILURE])) == {b.run_id}
    assert ids(RunsFilter(tags={"team": "y"})) == {b.run_id, c.run_id}
    assert ids(RunsFilter(tags={"team": ["x", "y"], "env": "prod"})) == {a.run_id, b.run_id}
    assert ids(RunsFilter(job_name="a", tags={"team": "y"})) == {c.run_id}
    assert ids(RunsFilter(run_ids=[a.run_id, b.run_id], job_name="b")) == {b.run_id}
    assert instance.get_runs_count(RunsFilter(tags={"env": "prod"})) == 2
    assert instance.get_runs_count() == 3


def test_time_filters(instance: dg.Instance) -> None:
    early = instance.create_run(job_name="job")
    boundary = time.time()
    while time.time() <= boundary:  # the clock must move past the boundary
        pass
    late = instance.create_run(job_name="job")
    assert [r.run_id for r in instance.get_runs(RunsFilter(created_before=boundary))] == [
        early.run_id
    ]
    assert [r.run_id for r in instance.get_runs(RunsFilter(created_after=boundary))] == [
        late.run_id
    ]
    instance.update_run_status(early.run_id, dg.RunStatus.STARTED)
    updated = {r.run_id for r in instance.get_runs(RunsFilter(updated_after=boundary))}
    assert updated == {early.run_id, late.run_id}


def test_pages_follow_the_cursor_in_both_directions(instance: dg.Instance) -> None:
    runs = _runs(instance, 7)
    newest_first = [r.run_id for r in reversed(runs)]
    page1 = instance.get_runs(limit=3)
    page2 = instance.get_runs(limit=3, cursor=page1[-1].run_id)
    page3 = instance.get_runs(limit=3, cursor=page2[-1].run_id)
    assert [r.run_id for r in page1 + page2 + page3] == newest_first
    oldest = instance.get_runs(limit=2, ascending=True)
    assert [r.run_id for r in oldest] == [runs[0].run_id, runs[1].run_id]
    after = instance.get_runs(limit=10, cursor=runs[4].run_id, ascending=True)
    assert [r.run_id for r in after] == [runs[5].run_id, runs[6].run_id]
    records = instance.get_run_records(limit=7)
    assert [r.storage_id for r in records] == sorted((r.storage_id for r in records), reverse=True)


def test_tags_can_be_added_later(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="job", tags={"a": "1"})
    updated = instance.add_run_tags(run.run_id, {"a": "2", "b": "3"})
    assert updated.tags == {"a": "2", "b": "3"}
    assert instance.get_run_by_id(run.run_id).tags == {"a": "2", "b": "3"}  # type: ignore[union-attr]
    assert [r.run_id for r in instance.get_runs(RunsFilter(tags={"a": "2"}))] == [run.run_id]
    assert instance.get_runs(RunsFilter(tags={"a": "1"})) == []


def test_deleting_a_run_removes_its_events(instance: dg.Instance) -> None:
    keep, doomed = _runs(instance, 2)
    for run in (keep, doomed):
        instance.store_event_entry(dg.EventLogEntry(run.run_id, time.time(), 20, "hello", "job"))
    instance.delete_run(doomed.run_id)
    assert instance.get_run_by_id(doomed.run_id) is None
    assert instance.all_logs(doomed.run_id) == []
    assert [e.user_message for e in instance.all_logs(keep.run_id)] == ["hello"]
    assert [r.run_id for r in instance.get_runs()] == [keep.run_id]


def test_key_value_table(instance: dg.Instance) -> None:
    assert instance.kvs_get(["a"]) == {}
    instance.kvs_set({"a": "1", "b": "2"})
    instance.kvs_set({"a": "3"})
    assert instance.kvs_get(["a", "b", "c"]) == {"a": "3", "b": "2"}


def test_daemon_heartbeats_keep_the_latest_per_daemon(instance: dg.Instance) -> None:
    instance.add_daemon_heartbeat(DaemonHeartbeat("SCHEDULER", "p1", 10.0))
    instance.add_daemon_heartbeat(DaemonHeartbeat("SCHEDULER", "p2", 20.0, ("boom",)))
    instance.add_daemon_heartbeat(DaemonHeartbeat("SENSOR", "p1", 15.0))
    beats = instance.get_daemon_heartbeats()
    assert beats["SCHEDULER"] == DaemonHeartbeat("SCHEDULER", "p2", 20.0, ("boom",))
    assert beats["SENSOR"].timestamp == 15.0


# -- status changes follow the transitions table, as compare-and-set ----------------------------
def test_a_forbidden_status_change_is_refused_and_names_both_statuses(
    instance: dg.Instance,
) -> None:
    run = instance.create_run(job_name="job")
    instance.update_run_status(run.run_id, dg.RunStatus.STARTED)
    instance.update_run_status(run.run_id, dg.RunStatus.SUCCESS)
    with pytest.raises(RunStatusTransitionError, match="from SUCCESS to STARTED"):
        instance.update_run_status(run.run_id, dg.RunStatus.STARTED)
    queued = instance.create_run(job_name="job", status=dg.RunStatus.QUEUED)
    with pytest.raises(RunStatusTransitionError, match="QUEUED to SUCCESS"):
        instance.update_run_status(queued.run_id, dg.RunStatus.SUCCESS)
    assert instance.get_run_by_id(queued.run_id).status is dg.RunStatus.QUEUED  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        instance.update_run_status("missing", dg.RunStatus.STARTED)


def test_compare_and_set_changes_only_from_the_given_statuses(instance: dg.Instance) -> None:
    storage = instance.run_storage
    run = instance.create_run(job_name="job", status=dg.RunStatus.QUEUED)
    assert (
        storage.try_update_run_status(run.run_id, dg.RunStatus.CANCELED, [dg.RunStatus.NOT_STARTED])
        is None
    )
    claimed = storage.try_update_run_status(
        run.run_id, dg.RunStatus.STARTING, [dg.RunStatus.QUEUED]
    )
    assert claimed is not None and claimed.status is dg.RunStatus.STARTING
    # Lost: it is no longer QUEUED.
    assert (
        storage.try_update_run_status(run.run_id, dg.RunStatus.STARTING, [dg.RunStatus.QUEUED])
        is None
    )
    with pytest.raises(RunStatusTransitionError):  # asking for a forbidden change is a mistake
        storage.try_update_run_status(run.run_id, dg.RunStatus.SUCCESS, [dg.RunStatus.QUEUED])
    with pytest.raises(KeyError):
        storage.try_update_run_status("missing", dg.RunStatus.STARTING)
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.run.status is dg.RunStatus.STARTING


def test_two_racing_status_changes_have_exactly_one_winner(
    instance: dg.Instance, instance_config: dict[str, object]
) -> None:
    """A cancel racing a dequeue, many times, each racer with its own connection: one wins."""
    shared = instance.run_storage  # the in-memory storage lives in this one object
    others = [
        dg.Instance.from_config(instance_config["document"], home=str(instance_config["home"]))  # type: ignore[arg-type]
        for _ in range(2)
    ]
    racers = (
        [shared, shared]
        if isinstance(shared, InMemoryRunStorage)
        else [o.run_storage for o in others]
    )
    targets = (dg.RunStatus.STARTING, dg.RunStatus.CANCELED)

    def race(
        index: int, run_id: str, barrier: threading.Barrier, results: list[dg.Run | None]
    ) -> None:
        barrier.wait()
        results[index] = racers[index].try_update_run_status(
            run_id, targets[index], [dg.RunStatus.QUEUED]
        )

    try:
        for _ in range(20):
            run = instance.create_run(job_name="job", status=dg.RunStatus.QUEUED)
            barrier = threading.Barrier(2)
            results: list[dg.Run | None] = [None, None]
            threads = [
                threading.Thread(target=race, args=(i, run.run_id, barrier, results))
                for i in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            winners = [r for r in results if r is not None]
            assert len(winners) == 1
            final = instance.get_run_by_id(run.run_id)
            assert final is not None and final.status is winners[0].status
    finally:
        for other in others:
            other.dispose()


def test_claiming_queued_runs_moves_what_was_chosen_and_nothing_else(
    instance: dg.Instance,
) -> None:
    queued = [instance.create_run(job_name="job", status=dg.RunStatus.QUEUED) for _ in range(3)]
    running = instance.create_run(job_name="job", status=dg.RunStatus.STARTED)
    instance.create_run(job_name="job")  # NOT_STARTED: neither queued nor in progress
    seen: dict[str, list[str]] = {}

    def choose(waiting: Sequence[dg.Run], in_progress: Sequence[dg.Run]) -> list[str]:
        seen["queued"] = [r.run_id for r in waiting]
        seen["in_progress"] = [r.run_id for r in in_progress]
        return [waiting[2].run_id, waiting[0].run_id, "not-a-queued-run"]

    claimed = instance.run_storage.claim_queued_runs(choose)
    assert seen == {"queued": [r.run_id for r in queued], "in_progress": [running.run_id]}
    assert [r.run_id for r in claimed] == [queued[0].run_id, queued[2].run_id]
    assert all(r.status is dg.RunStatus.STARTING for r in claimed)
    assert instance.get_run_by_id(queued[1].run_id).status is dg.RunStatus.QUEUED  # type: ignore[union-attr]
    assert instance.run_storage.claim_queued_runs(lambda q, p: [r.run_id for r in q]) == [
        instance.get_run_by_id(queued[1].run_id)
    ]


def test_key_value_entries_can_be_deleted(instance: dg.Instance) -> None:
    instance.kvs_set({"a": "1", "b": "2"})
    instance.run_storage.kvs_delete(["a", "missing"])
    instance.run_storage.kvs_delete([])
    assert instance.kvs_get(["a", "b"]) == {"b": "2"}
