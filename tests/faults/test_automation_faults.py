"""Automation faults: a real `kubedag daemon` process SIGKILLed in the middle of a schedule or
sensor tick and started again, and sensors whose evaluation raises, hangs or returns a bad
cursor. Runs are launched by the daemon and executed by real run workers.

No test waits for the clock to reach a tick: the schedule's stored state says it was started a
few minutes ago, so the ticks of those minutes are due (and caught up) when the daemon starts.
Where a fault must hit one exact point of a tick, the daemon is held there — by a run
coordinator that holds one run before queueing it (`HeldRunCoordinator`), or by a PostgreSQL
row lock on the schedule's or sensor's stored state — and SIGKILLed while it waits.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import kubedag as dg
from kubedag.automation.evaluation_timeout import TIMEOUT_ENV
from kubedag.automation.instigators import TICK_TAG, set_running
from kubedag.clock.cron import cron_ticks
from kubedag.runs.tags import WORKER_PID_TAG
from kubedag.storage.records import InstigatorType, Tick, TickStatus
from tests.faults._lifecycle import Home, kubedag_home, lines, sigkill, storage_document
from tests.runtime.runs.conftest import wait_for

S = dg.RunStatus
E = dg.EventType
DEADLINE_S = 60.0
QUEUED = {"dequeue_interval_seconds": 0.1}
FMT = "%Y-%m-%d-%H:%M"

# A minutely partitioned asset and its schedule: each tick requests the minute that just ended.
SCHEDULE_CODE = """
import kubedag as dg

minutes = dg.TimeWindowPartitionsDefinition(cron_schedule="* * * * *", start="{start}", fmt="{fmt}")


@dg.asset(partitions_def=minutes)
def minutely() -> int:
    return 1


minutely_job = dg.define_asset_job(
    "minutely_job", selection=[minutely], config={{"execution": {{"config": {{"in_process": {{}}}}}}}}
)
defs = dg.Definitions(
    assets=[minutely],
    jobs=[minutely_job],
    schedules=[dg.build_schedule_from_partitioned_job(minutely_job)],
)
"""
LOCATION = "minutes"
SCHEDULE = f"{LOCATION}:minutely_job_schedule"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _minute(moment: float) -> datetime:
    return datetime.fromtimestamp(moment // 60 * 60, UTC)


def _partition_of(tick: datetime) -> str:
    """The partition a tick of the minutely schedule requests: the minute that just ended."""
    return (tick - timedelta(minutes=1)).strftime(FMT)


@pytest.fixture
def schedule_start() -> datetime:
    """When the test's schedule was started: two and a half minutes before the current minute,
    so three ticks are due (one per minute since)."""
    return _minute(time.time()) - timedelta(seconds=150)


def _started_schedule(home: Home, instance: dg.Instance, started: datetime) -> datetime:
    """Write the schedule's code and store it as started at `started`; returns `started`."""
    home.write_code(
        LOCATION, SCHEDULE_CODE.format(start=(started - timedelta(hours=1)).strftime(FMT), fmt=FMT)
    )
    set_running(
        instance,
        LOCATION,
        "minutely_job_schedule",
        InstigatorType.SCHEDULE,
        True,
        now=started.timestamp(),
    )
    return started


def _ticks_between(start: datetime, end: float) -> list[datetime]:
    """Every tick of `* * * * *` after `start`, up to and including `end`."""
    return list(cron_ticks(["* * * * *"], "UTC", start, datetime.fromtimestamp(end + 1e-3, UTC)))


def _all_due_ticks_done(instance: dg.Instance, start: datetime, until: float) -> list[Tick]:
    """The schedule's ticks once every tick due by `until` is finished and its run has
    finished too (empty until then)."""
    ticks = instance.get_ticks(SCHEDULE)
    times = {datetime.fromtimestamp(t.timestamp, UTC) for t in ticks if t.is_finished}
    if not set(_ticks_between(start, until)) <= times:
        return []
    runs = instance.get_runs()
    return ticks if runs and all(run.is_finished for run in runs) else []


def _assert_one_run_per_tick(instance: dg.Instance, start: datetime, until: float) -> None:
    """Exactly one finished tick and one successful run per tick time, none missed, each run
    queued and started once."""
    ticks = instance.get_ticks(SCHEDULE)
    per_time = Counter(t.timestamp for t in ticks)
    assert all(n == 1 for n in per_time.values()), f"ticks evaluated twice: {per_time}"
    assert all(t.status is TickStatus.SUCCESS for t in ticks), [(t.status, t.error) for t in ticks]
    times = sorted(datetime.fromtimestamp(t.timestamp, UTC) for t in ticks)
    due = _ticks_between(start, until)
    # Every tick due by `until` was evaluated; any later one is a minute that turned since.
    assert times[: len(due)] == due and all(t.timestamp() > until for t in times[len(due) :])
    runs = instance.get_runs()
    assert len(runs) == len(ticks)
    by_tick = {t.tick_id: t for t in ticks}
    for run in runs:
        tick = by_tick[int(run.tags[TICK_TAG])]
        assert tick.run_ids == (run.run_id,)
        assert run.partition == _partition_of(datetime.fromtimestamp(tick.timestamp, UTC))
        assert run.status is S.SUCCESS
        kinds = Counter(e.event.event_type for e in instance.all_logs(run.run_id) if e.event)
        assert kinds[E.RUN_ENQUEUED] == 1 and kinds[E.RUN_START] == 1, kinds


def _no_launch_in_flight(instance: dg.Instance) -> bool:
    """Whether every run the daemon queued has its worker (so a SIGKILL now hits the tick, not
    a launch half done: a run claimed for launch by a dequeuer that dies is a different fault,
    failed by run monitoring after its start timeout)."""
    runs = instance.get_runs()
    return all(r.status is S.NOT_STARTED or WORKER_PID_TAG in r.tags for r in runs)


# -- the daemon killed in the middle of a schedule tick ----------------------------------------
@pytest.fixture
def held_home(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, schedule_start: datetime
) -> Iterator[Home]:
    """A home whose coordinator holds the run of the second due tick (see the test)."""
    hold = _partition_of(schedule_start + timedelta(seconds=90))  # the second minute after
    document = {
        **storage_document(backend, request),
        "run_coordinator": {
            "module": "tests.faults._lifecycle",
            "class": "HeldRunCoordinator",
            "config": {
                "hold_partition": hold,
                "holding": str(tmp_path / "holding"),
                "release": str(tmp_path / "release"),
                **QUEUED,
            },
        },
    }
    with kubedag_home(tmp_path, document) as home:
        yield home


def test_fault_daemon_sigkill_mid_schedule_tick(
    held_home: Home, tmp_path: Path, schedule_start: datetime
) -> None:
    """Daemon SIGKILLed mid-schedule-tick (its run created, not yet submitted), then restarted

    The restarted daemon finishes the interrupted tick with the run already created (submitted
    now, not created again) and evaluates the ticks after it: exactly one tick and one
    successful run per tick time, no tick missed."""
    home = held_home
    instance = home.instance()
    start = _started_schedule(home, instance, schedule_start)
    holding, release = tmp_path / "holding", tmp_path / "release"
    first = home.start_daemon()
    held_run_id = wait_for(
        lambda: holding.exists() and holding.read_text(), DEADLINE_S, "the second tick's run"
    )
    # Held exactly mid-tick: the first tick done, the second STARTED with its run not submitted.
    ticks = instance.get_ticks(SCHEDULE)
    assert [t.status for t in ticks] == [TickStatus.STARTED, TickStatus.SUCCESS]
    held = instance.get_run_by_id(held_run_id)
    assert held is not None and held.status is S.NOT_STARTED
    assert held.tags[TICK_TAG] == str(ticks[0].tick_id)
    wait_for(lambda: _no_launch_in_flight(instance), DEADLINE_S, "the first tick's run to launch")
    sigkill(first)

    release.touch()
    restarted_at = time.time()
    home.start_daemon()
    wait_for(
        lambda: _all_due_ticks_done(instance, start, restarted_at),
        DEADLINE_S,
        "every due tick to be evaluated and its run to finish",
    )
    _assert_one_run_per_tick(instance, start, restarted_at)
    by_time = {t.timestamp: t for t in instance.get_ticks(SCHEDULE)}
    assert by_time[ticks[0].timestamp].run_ids == (held_run_id,)
    assert by_time[ticks[0].timestamp].tick_id == ticks[0].tick_id  # the same tick, finished


# -- the daemon killed after a tick, before its state was saved (PostgreSQL row lock) ----------
@contextlib.contextmanager
def state_row_locked(url: str, selector: str) -> Iterator[Callable[[], int]]:
    """Hold a row lock on an instigator's stored state, so a daemon that finishes a tick then
    waits to save the state; yields a function counting the statements waiting for it. On
    leaving, those (a killed daemon's) are cancelled first — PostgreSQL would otherwise run
    them once the lock is free — and then the lock is released."""
    engine = sa.create_engine(url)
    waiting = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )

    def waiting_pids() -> list[int]:
        with engine.connect() as conn:  # a new transaction: activity statistics are fresh
            return [int(pid) for pid in conn.execute(waiting).scalars()]

    try:
        with engine.connect() as lock:
            lock.begin()
            lock.execute(
                sa.text("SELECT selector_id FROM instigators WHERE selector_id = :s FOR UPDATE"),
                {"s": selector},
            )
            yield lambda: len(waiting_pids())
            with engine.connect() as conn:
                for pid in waiting_pids():
                    conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            lock.rollback()
    finally:
        engine.dispose()


@pytest.fixture
def postgres_home(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Home]:
    document = {**storage_document("postgres", request), "run_coordinator": {"queued": QUEUED}}
    with kubedag_home(tmp_path, document) as home:
        yield home


def test_fault_daemon_sigkill_after_a_schedule_tick_before_saving_its_state(
    postgres_home: Home, postgres_url: str, schedule_start: datetime
) -> None:
    """Daemon SIGKILLed after finishing a schedule tick, before saving the schedule's state

    The restarted daemon takes the finished tick as done instead of evaluating it again: one
    tick and one successful run per tick time, no tick missed."""
    home = postgres_home
    instance = home.instance()
    start = _started_schedule(home, instance, schedule_start)
    with state_row_locked(postgres_url, SCHEDULE) as waiting:
        first = home.start_daemon()
        wait_for(
            lambda: waiting() and instance.get_ticks(SCHEDULE),
            DEADLINE_S,
            "the daemon to finish the first tick and wait to save the schedule's state",
        )
        [tick] = instance.get_ticks(SCHEDULE)
        assert tick.status is TickStatus.SUCCESS and len(tick.run_ids) == 1
        state = instance.get_instigator_state(SCHEDULE)
        assert state is not None and state.last_tick_timestamp is None  # not saved
        wait_for(lambda: _no_launch_in_flight(instance), DEADLINE_S, "the tick's run to launch")
        sigkill(first)
    restarted_at = time.time()
    home.start_daemon()
    wait_for(
        lambda: _all_due_ticks_done(instance, start, restarted_at),
        DEADLINE_S,
        "every due tick to be evaluated and its run to finish",
    )
    _assert_one_run_per_tick(instance, start, restarted_at)
    assert instance.get_ticks(SCHEDULE)[-1].tick_id == tick.tick_id


# -- sensor evaluations that fail ---------------------------------------------------------------
# `new_files` requests one run per new file, keyed by a counter it keeps in its cursor; the
# fault named in the file `fault` (next to the code) spoils the next evaluation only, and every
# evaluation writes the cursor it was given to the file `calls`.
SENSOR_CODE = """
import time
from pathlib import Path

import kubedag as dg

HERE = Path(__file__).parent
FAULT, CALLS = HERE / "fault", HERE / "calls"


@dg.asset
def landed() -> int:
    return 1


landed_job = dg.define_asset_job(
    "landed_job", selection=[landed], config={"execution": {"config": {"in_process": {}}}}
)


@dg.sensor(job=landed_job, minimum_interval_seconds=1)
def new_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    with CALLS.open("a") as out:
        out.write(f"{context.cursor}\\n")
    fault = FAULT.read_text() if FAULT.exists() else ""
    FAULT.unlink(missing_ok=True)
    seen = int(context.cursor or 0) + 1
    request = dg.RunRequest(run_key=f"file-{seen}")
    if fault == "raise":
        raise ConnectionError("the bucket listing failed")
    if fault == "hang":
        time.sleep(4)  # longer than the daemon's limit; what it returns then is ignored
    if fault == "not a string":
        return dg.SensorResult(run_requests=[request], cursor=seen)
    if fault == "a NUL character":
        return dg.SensorResult(run_requests=[request], cursor=f"{seen}\\x00")
    return dg.SensorResult(run_requests=[request], cursor=str(seen))


defs = dg.Definitions(assets=[landed], jobs=[landed_job], sensors=[new_files])
"""
SENSOR = "watch:new_files"
EVALUATION_TIMEOUT_S = 1


@pytest.fixture
def sensor_home(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Home]:
    document = {**storage_document(backend, request), "run_coordinator": {"queued": QUEUED}}
    with kubedag_home(tmp_path, document) as home:
        yield home


def _sensor_fails_once_then_recovers(home: Home, fault: str) -> Tick:
    """Run a daemon whose sensor (cursor "7") meets `fault` in its first evaluation; check the
    outcome every sensor fault shares, and return the failed tick.

    The tick is FAILURE, no run comes of it, the cursor stays "7"; the next evaluation gets
    "7" again, succeeds, moves the cursor to "8" and its run (file-8) is launched and succeeds."""
    instance = home.instance()
    code = home.write_code("watch", SENSOR_CODE)
    (code.parent / "fault").write_text(fault)
    state = set_running(instance, "watch", "new_files", InstigatorType.SENSOR, True)
    instance.update_instigator_state(replace(state, cursor="7"))
    home.start_daemon({TIMEOUT_ENV: str(EVALUATION_TIMEOUT_S)})

    def ticks() -> list[Tick]:
        return instance.get_ticks(SENSOR)[::-1]  # oldest first

    failed = wait_for(lambda: [t for t in ticks() if t.is_finished][:1], DEADLINE_S, "a tick")[0]
    assert failed.status is TickStatus.FAILURE and failed.error is not None, failed
    assert failed.run_ids == () and instance.get_runs() == []
    saved = instance.get_instigator_state(SENSOR)
    assert saved is not None and saved.cursor == "7"

    first, second = wait_for(
        lambda: len(ticks()) >= 2 and ticks()[1].is_finished and ticks()[:2],
        DEADLINE_S,
        "the next evaluation",
    )
    assert second.run_ids, second
    run = wait_for(
        lambda: (r := instance.get_run_by_id(second.run_ids[0])) and r.is_finished and r,
        DEADLINE_S,
        "its run to finish",
    )
    assert first.tick_id == failed.tick_id
    assert second.status is TickStatus.SUCCESS and second.run_keys == ("file-8",)
    assert run.status is S.SUCCESS and run.tags[TICK_TAG] == str(second.tick_id)
    assert second.run_ids == (run.run_id,)
    assert all(r.tags[TICK_TAG] != str(failed.tick_id) for r in instance.get_runs())
    assert lines(code.parent / "calls")[:2] == ["7", "7"]  # the failure left the cursor alone
    saved = instance.get_instigator_state(SENSOR)
    assert saved is not None and saved.cursor is not None and int(saved.cursor) >= 8
    beats = instance.get_daemon_heartbeats()
    assert beats["SENSOR"].errors == (), beats["SENSOR"].errors  # the loop itself is healthy
    return failed


@pytest.mark.parametrize("backend", ["sqlite"])
def test_fault_sensor_evaluation_raises(sensor_home: Home) -> None:
    """Sensor function raises during evaluation

    The tick is recorded as FAILURE with the error and the user's traceback; no run is
    requested and the cursor is unchanged; the next evaluation starts from the same cursor,
    succeeds, and its RunRequest launches a run that succeeds."""
    failed = _sensor_fails_once_then_recovers(sensor_home, "raise")
    assert failed.error is not None
    assert failed.error.message.endswith(
        "sensor 'new_files': its function raised ConnectionError: the bucket listing failed"
    ), failed.error.message
    assert "watch.py" in failed.error.to_string()  # where in the user's code


@pytest.mark.parametrize("backend", ["sqlite"])
def test_fault_sensor_evaluation_times_out(sensor_home: Home) -> None:
    """Sensor function hangs longer than the evaluation time limit

    After `KUBEDAG_SENSOR_EVALUATION_TIMEOUT_SECONDS` (default 60) the tick is recorded as
    FAILURE saying the evaluation timed out after that many seconds; what the function returns
    later is ignored (no run, cursor unchanged), and the next evaluation succeeds and launches
    its run."""
    started = time.monotonic()
    failed = _sensor_fails_once_then_recovers(sensor_home, "hang")
    assert failed.error is not None
    assert (
        f"sensor 'new_files': the evaluation timed out after {EVALUATION_TIMEOUT_S}s "
        f"({TIMEOUT_ENV})" in failed.error.message
    ), failed.error.message
    assert failed.end_timestamp is not None
    took = failed.end_timestamp - failed.timestamp
    assert EVALUATION_TIMEOUT_S <= took < EVALUATION_TIMEOUT_S + 2.5, took  # not the 4 s hang
    assert time.monotonic() - started < DEADLINE_S


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("bad", ["not a string", "a NUL character"])
def test_fault_sensor_returns_a_bad_cursor(sensor_home: Home, bad: str) -> None:
    """Sensor returns a cursor that cannot be stored (not a string, or a string with a NUL
    character, which PostgreSQL cannot hold)

    The tick is recorded as FAILURE naming the cursor and what is wrong with it, before any of
    its runs is requested; the stored cursor is unchanged, the daemon's sensor loop stays
    healthy, and the next evaluation succeeds and launches its run."""
    failed = _sensor_fails_once_then_recovers(sensor_home, bad)
    assert failed.error is not None
    expected = {
        "not a string": "SensorResult.cursor: expected a string, got 8",
        "a NUL character": "the cursor '8\\x00' contains a NUL character",
    }[bad]
    assert expected in failed.error.message, failed.error.message


# `new_items` requests one run per line of the file `items` it has not seen, without run keys
# (so only its cursor, the number of lines seen, keeps it from asking twice).
ITEMS_CODE = """
from pathlib import Path

import kubedag as dg

ITEMS = Path(__file__).parent / "items"


@dg.asset
def landed() -> int:
    return 1


landed_job = dg.define_asset_job(
    "landed_job", selection=[landed], config={"execution": {"config": {"in_process": {}}}}
)


@dg.sensor(job=landed_job, minimum_interval_seconds=1)
def new_items(context: dg.SensorEvaluationContext):
    items = ITEMS.read_text().split()
    fresh = items[int(context.cursor or 0) :]
    if not fresh:
        return dg.SkipReason("no new item")
    requests = [dg.RunRequest(tags={"item": item}) for item in fresh]
    return dg.SensorResult(run_requests=requests, cursor=str(len(items)))


defs = dg.Definitions(assets=[landed], jobs=[landed_job], sensors=[new_items])
"""
ITEMS_SENSOR = "items:new_items"


def test_fault_daemon_sigkill_after_a_sensor_tick_before_saving_its_cursor(
    postgres_home: Home, postgres_url: str
) -> None:
    """Daemon SIGKILLed after finishing a sensor tick, before saving the sensor's cursor

    The restarted daemon saves the cursor of the finished tick before evaluating the sensor
    again, so requests without a run key are not made twice: exactly one run per item the
    sensor saw, one tick per run."""
    home = postgres_home
    instance = home.instance()
    code = home.write_code("items", ITEMS_CODE)
    items = code.parent / "items"
    items.write_text("a\n")
    set_running(instance, "items", "new_items", InstigatorType.SENSOR, True)
    with state_row_locked(postgres_url, ITEMS_SENSOR) as waiting:
        first = home.start_daemon()
        wait_for(
            lambda: waiting() and instance.get_ticks(ITEMS_SENSOR),
            DEADLINE_S,
            "the daemon to finish the first tick and wait to save the sensor's cursor",
        )
        [tick] = instance.get_ticks(ITEMS_SENSOR)
        assert tick.status is TickStatus.SUCCESS and tick.cursor == "1"
        state = instance.get_instigator_state(ITEMS_SENSOR)
        assert state is not None and state.cursor is None  # not saved
        wait_for(lambda: _no_launch_in_flight(instance), DEADLINE_S, "the tick's run to launch")
        sigkill(first)
    items.write_text("a\nb\n")
    home.start_daemon()

    def runs_of_b() -> list[dg.Run]:
        runs = instance.get_runs(dg.RunsFilter(tags={"item": "b"}))
        return runs if runs and all(r.is_finished for r in instance.get_runs()) else []

    wait_for(runs_of_b, DEADLINE_S, "the run of the new item to finish")
    runs = instance.get_runs()
    assert Counter(run.tags["item"] for run in runs) == {"a": 1, "b": 1}
    assert all(run.status is S.SUCCESS for run in runs)
    ticks = [t for t in instance.get_ticks(ITEMS_SENSOR) if t.run_ids]
    assert sorted(run_id for t in ticks for run_id in t.run_ids) == sorted(r.run_id for r in runs)
    assert all(len(t.run_ids) == 1 for t in ticks)
    saved = instance.get_instigator_state(ITEMS_SENSOR)
    assert saved is not None and saved.cursor == "2"
