"""Idempotent run creation: a run created with an idempotency key exists at most once, on every
backend, however many times (or from however many threads) it is created."""

from __future__ import annotations

import threading

import pytest

import kubedag as dg


def test_the_same_key_returns_the_first_run(instance: dg.Instance) -> None:
    first = instance.create_run(
        job_name="etl", tags={"team": "data"}, idempotency_key="schedule:loc:daily:1700000000:0"
    )
    again = instance.create_run(
        job_name="etl", tags={"other": "tags"}, idempotency_key="schedule:loc:daily:1700000000:0"
    )

    assert again == first
    assert instance.get_runs_count() == 1
    assert instance.get_run_by_idempotency_key("schedule:loc:daily:1700000000:0") == first
    assert instance.get_runs(dg.RunsFilter(tags={"other": "tags"})) == []


def test_other_keys_and_no_key_create_new_runs(instance: dg.Instance) -> None:
    a = instance.create_run(job_name="etl", idempotency_key="sensor:loc:files:a.csv")
    b = instance.create_run(job_name="etl", idempotency_key="sensor:loc:files:b.csv")
    plain = [instance.create_run(job_name="etl") for _ in range(2)]

    assert len({a.run_id, b.run_id, *(r.run_id for r in plain)}) == 4
    assert instance.get_run_by_idempotency_key("sensor:loc:files:c.csv") is None


def test_a_duplicate_run_id_is_still_an_error(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="etl", idempotency_key="k1")
    with pytest.raises(ValueError, match="already exists"):
        instance.create_run(job_name="etl", run_id=run.run_id, idempotency_key="k2")
    assert instance.get_run_by_idempotency_key("k2") is None


def test_the_existing_run_is_returned_as_it_is_now(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="etl", idempotency_key="k")
    instance.update_run_status(run.run_id, dg.RunStatus.STARTED)

    again = instance.create_run(job_name="etl", idempotency_key="k")
    assert again.run_id == run.run_id and again.status is dg.RunStatus.STARTED


def test_deleting_the_run_frees_its_key(instance: dg.Instance) -> None:
    run = instance.create_run(job_name="etl", idempotency_key="k")
    instance.delete_run(run.run_id)

    assert instance.get_run_by_idempotency_key("k") is None
    assert instance.create_run(job_name="etl", idempotency_key="k").run_id != run.run_id


def test_racing_creators_make_one_run(instance: dg.Instance) -> None:
    barrier = threading.Barrier(8)
    created: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait(10)
            run = instance.create_run(job_name="etl", idempotency_key="schedule:race")
            created.append(run.run_id)
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(created) == 8 and len(set(created)) == 1
    assert instance.get_runs_count() == 1
