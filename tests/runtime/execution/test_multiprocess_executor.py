"""The multiprocess executor with real child processes on a persistent (SQLite) instance.

Steps that need to run at the same time record when they ran in files; nothing here waits for
another process by sleeping: a step's own `time.sleep` is the work being scheduled.
"""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.execution.multiprocess.processes import StepProcessExitedError
from kubedag.execution.run import execute_run
from kubedag.records.events import EventType
from tests.runtime.overlap import peak_overlap

MP = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        yield instance


def step_types(result: dg.ExecuteInProcessResult, step_key: str) -> list[str]:
    return [e.event_type.value for e in result.all_events if e.step_key == step_key]


def stored_types(instance: dg.Instance, run_id: str) -> list[str]:
    return [e.event.event_type.value for e in instance.all_logs(run_id) if e.event is not None]


def record_interval(directory: Path, name: str, seconds: float) -> None:
    start = time.time()
    time.sleep(seconds)  # the step's work: long enough for steps to overlap if allowed to
    (directory / name).write_text(f"{start} {time.time()}")


def max_overlap(directory: Path, names: list[str] | None = None) -> int:
    intervals = []
    for path in directory.iterdir():
        if names is None or path.name in names:
            start, end = map(float, path.read_text().split())
            intervals.append((start, end))
    return peak_overlap(intervals)


# -- values and events ---------------------------------------------------------------------------
def test_a_diamond_of_assets_passes_values_through_the_filesystem(
    instance: dg.Instance,
) -> None:
    @dg.asset
    def top() -> int:
        return os.getpid()

    @dg.asset
    def left(top: int) -> list[int]:
        return [top, os.getpid()]

    @dg.asset
    def right(top: int) -> list[int]:
        return [top, os.getpid()]

    @dg.asset
    def bottom(left: list[int], right: list[int]) -> list[int]:
        return [*left, *right, os.getpid()]

    defs = dg.Definitions(assets=[top, left, right, bottom], jobs=[dg.define_asset_job("d")])
    result = dg.execute_job(defs.get_job_def("d"), instance, run_config=MP)

    assert result.success
    assert result.run.status is dg.RunStatus.SUCCESS
    pids = result.asset_value("bottom")
    # Each step ran in a process of its own, none of them this one.
    assert pids[0] == pids[2] and len({pids[0], pids[1], pids[3], pids[4]}) == 4
    assert os.getpid() not in pids
    assert step_types(result, "top") == [
        "STEP_START",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
    ]
    assert step_types(result, "bottom")[:3] == ["STEP_START", "LOADED_INPUT", "LOADED_INPUT"]
    stored = stored_types(instance, result.run_id)
    assert stored[0] == "RUN_START" and stored[-1] == "RUN_SUCCESS"
    assert stored.count("STEP_SUCCESS") == 4
    assert instance.get_latest_materialization_event(dg.AssetKey("bottom")) is not None


def test_a_fan_out_of_ops_and_its_values(instance: dg.Instance) -> None:
    @dg.op
    def root() -> int:
        return 10

    @dg.op(out={f"o{i}": dg.Out(int) for i in range(20)})
    def split(value: int):  # type: ignore[no-untyped-def]
        return tuple(value + i for i in range(20))

    @dg.op
    def double(value: int) -> int:
        return value * 2

    @dg.op
    def total(values: list[int]) -> int:
        return sum(values)

    @dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}))
    def fan_out() -> None:
        parts = split(root())
        total([double.alias(f"double_{i}")(getattr(parts, f"o{i}")) for i in range(20)])

    result = dg.execute_job(fan_out, instance)
    assert result.success
    assert result.output_for_node("total") == sum((10 + i) * 2 for i in range(20))
    assert len(result.get_step_success_events()) == 23
    assert result.run.parent_run_id is None


def test_execute_run_uses_the_multiprocess_executor_by_default(instance: dg.Instance) -> None:
    @dg.asset
    def where() -> int:
        return os.getpid()

    job = dg.Definitions(assets=[where], jobs=[dg.define_asset_job("j")]).get_job_def("j")
    run = instance.create_run(job_name="j")
    result = execute_run(job, run, instance)
    assert result.success
    assert result.asset_value("where") != os.getpid()
    assert result.all_events[1].event_type is EventType.ENGINE_EVENT
    # materialize() always runs in this process, whatever the job says.
    assert dg.materialize([where], instance=instance).asset_value("where") == os.getpid()


# -- concurrency ------------------------------------------------------------------------------
def test_max_concurrent_is_never_exceeded(instance: dg.Instance, tmp_path: Path) -> None:
    record = tmp_path / "intervals"
    record.mkdir()

    def make(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name)
        def busy() -> None:
            record_interval(record, name, 0.15)

        return busy

    assets = [make(f"busy_{i}") for i in range(6)]
    job = dg.Definitions(assets=assets, jobs=[dg.define_asset_job("j")]).get_job_def("j")
    result = dg.execute_job(job, instance, run_config=MP)
    assert result.success
    assert max_overlap(record) == 2


def test_tag_limits_serialize_tagged_steps(instance: dg.Instance, tmp_path: Path) -> None:
    record = tmp_path / "intervals"
    record.mkdir()

    def make(name: str, tags: dict[str, str]) -> dg.AssetsDefinition:
        @dg.asset(name=name, op_tags=tags)
        def busy() -> None:
            record_interval(record, name, 0.1)

        return busy

    tagged = [f"db_{i}" for i in range(3)]
    assets = [make(n, {"database": "warehouse"}) for n in tagged]
    assets += [make(f"free_{i}", {}) for i in range(3)]
    job = dg.Definitions(assets=assets, jobs=[dg.define_asset_job("j")]).get_job_def("j")
    limits = [{"key": "database", "limit": 1}]
    config = {"max_concurrent": 4, "tag_concurrency_limits": limits}
    result = dg.execute_job(
        job, instance, run_config={"execution": {"config": {"multiprocess": config}}}
    )
    assert result.success
    assert max_overlap(record, tagged) == 1
    assert max_overlap(record) >= 2  # the untagged steps ran alongside


# -- retries ----------------------------------------------------------------------------------
def test_retry_policy_and_retry_requested_retry_in_the_step_process(
    instance: dg.Instance, tmp_path: Path
) -> None:
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def attempt(name: str) -> int:
        count = len(list(attempts.glob(f"{name}-*")))
        (attempts / f"{name}-{count}").touch()
        return count

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def flaky() -> int:
        if attempt("flaky") < 2:
            raise ConnectionError("not yet")
        return 1

    @dg.asset
    def asks(context: dg.AssetExecutionContext) -> int:
        if attempt("asks") == 0:
            raise dg.RetryRequested(max_retries=1)
        return context.retry_number

    job = dg.Definitions(assets=[flaky, asks], jobs=[dg.define_asset_job("j")]).get_job_def("j")
    result = dg.execute_job(job, instance, run_config=MP)
    assert result.success
    assert step_types(result, "flaky").count("STEP_UP_FOR_RETRY") == 2
    assert step_types(result, "flaky").count("STEP_RESTARTED") == 2
    assert result.asset_value("asks") == 1

    for path in attempts.iterdir():
        path.unlink()
    disabled = {"multiprocess": {"max_concurrent": 2, "retries": {"disabled": {}}}}
    result = dg.execute_job(job, instance, run_config={"execution": {"config": disabled}})
    assert not result.success
    assert result.get_failed_step_keys() == {"flaky", "asks"}
    assert "STEP_UP_FOR_RETRY" not in stored_types(instance, result.run_id)


# -- processes that die -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("how", "expected"), [("exit", "exited with code 3"), ("kill", "killed by signal SIGKILL")]
)
def test_a_step_process_that_dies_is_a_step_failure_and_downstream_is_skipped(
    instance: dg.Instance, how: str, expected: str
) -> None:
    @dg.asset
    def doomed() -> int:
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    @dg.asset
    def after(doomed: int) -> int:
        return doomed

    @dg.asset
    def unrelated() -> int:
        return 1

    job = dg.Definitions(
        assets=[doomed, after, unrelated], jobs=[dg.define_asset_job("j")]
    ).get_job_def("j")
    result = dg.execute_job(job, instance, run_config=MP)
    assert not result.success
    assert result.run.status is dg.RunStatus.FAILURE
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "doomed"
    assert expected in failure.message
    assert result.is_node_skipped("after")
    assert result.is_node_success("unrelated")
    stored = stored_types(instance, result.run_id)
    assert "STEP_FAILURE" in stored and stored[-1] == "RUN_FAILURE"
    with pytest.raises(StepProcessExitedError, match=expected):
        dg.execute_job(job, instance, run_config=MP, raise_on_error=True)


def test_stdout_of_a_step_process_lands_in_the_compute_logs(instance: dg.Instance) -> None:
    @dg.asset
    def talker(context: dg.AssetExecutionContext) -> None:
        print("printed by the step")
        os.system("echo from a subprocess")
        context.log.info("logged by the step")

    job = dg.Definitions(assets=[talker], jobs=[dg.define_asset_job("j")]).get_job_def("j")
    result = dg.execute_job(job, instance, run_config=MP)
    assert result.success
    out = instance.compute_log_manager.read(result.run_id, "talker", "stdout").data.decode()
    assert "printed by the step" in out and "from a subprocess" in out
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert "logged by the step" in messages


# -- stopping ------------------------------------------------------------------------------------
def test_should_stop_terminates_running_steps_and_starts_no_more(
    instance: dg.Instance, tmp_path: Path
) -> None:
    flag = tmp_path / "stop"

    @dg.asset
    def slow() -> None:
        flag.write_text(str(os.getpid()))
        time.sleep(60)  # the step being canceled

    @dg.asset(deps=[slow])
    def downstream() -> None:
        pass

    @dg.asset
    def waiting() -> None:
        pass

    job = dg.Definitions(
        assets=[slow, downstream, waiting], jobs=[dg.define_asset_job("j")]
    ).get_job_def("j")
    config = {"execution": {"config": {"multiprocess": {"max_concurrent": 1}}}}
    run = instance.create_run(job_name="j", run_config=config)
    started = time.monotonic()
    result = execute_run(job, run, instance, should_stop=flag.exists)

    assert time.monotonic() - started < 30
    assert result.run.status is dg.RunStatus.CANCELED
    stored = stored_types(instance, run.run_id)
    assert stored[-1] == "RUN_CANCELED"
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "slow" and "interrupted" in failure.message
    started_steps = {e.step_key for e in result.all_events if e.event_type is EventType.STEP_START}
    assert started_steps == {"slow"}
    canceled = next(e for e in result.all_events if e.event_type is EventType.RUN_CANCELED)
    assert "downstream" in canceled.message and "waiting" in canceled.message
    with pytest.raises(ProcessLookupError):
        os.kill(int(flag.read_text()), 0)  # the step's process is gone (and reaped)


# -- what cannot work is refused before anything runs --------------------------------------------
def test_in_memory_io_manager_is_refused_before_the_run_exists() -> None:
    @dg.asset
    def thing() -> int:
        return 1

    job = dg.Definitions(assets=[thing], jobs=[dg.define_asset_job("j")]).get_job_def("j")
    with dg.Instance.ephemeral() as ephemeral:
        with pytest.raises(dg.InvalidConfigError, match=r"resources\.io_manager: .*in_process"):
            dg.execute_job(job, ephemeral)
        assert ephemeral.get_runs() == []
        # In process it is fine, and so is a persistent I/O manager.
        run_config = {"execution": {"config": {"in_process": {}}}}
        assert dg.execute_job(job, ephemeral, run_config=run_config).success


def test_spawn_needs_a_code_location(instance: dg.Instance) -> None:
    job = dg.Definitions(assets=[_spawned_asset], jobs=[dg.define_asset_job("j")]).get_job_def("j")
    spawn = {"execution": {"config": {"multiprocess": {"start_method": "spawn"}}}}
    with pytest.raises(dg.InvalidConfigError, match=r"multiprocess\.start_method: 'spawn'"):
        dg.execute_job(job, instance, run_config=spawn)
    run = instance.create_run(job_name="j", run_config=spawn)
    result = execute_run(job, run, instance)
    assert result.run.status is dg.RunStatus.FAILURE
    assert "start_method" in instance.all_logs(run.run_id)[-1].user_message


@dg.asset
def _spawned_asset() -> int:
    return 1


SPAWN_CODE = """
import os
import kubedag as dg

@dg.asset
def first() -> int:
    return os.getpid()

@dg.asset
def second(first: int) -> list:
    return [first, os.getpid()]

defs = dg.Definitions(
    assets=[first, second],
    jobs=[dg.define_asset_job("spawned")],
)
"""


def test_spawn_reloads_the_code_location_in_each_step(
    instance: dg.Instance, tmp_path: Path
) -> None:
    code = tmp_path / "spawn_defs.py"
    code.write_text(SPAWN_CODE)
    from kubedag.code_location.load import load_definitions

    job = load_definitions(python_file=str(code)).get_job_def("spawned")
    spawn = {"execution": {"config": {"multiprocess": {"start_method": "spawn"}}}}
    run = instance.create_run(
        job_name="spawned", run_config=spawn, code_location={"python_file": str(code)}
    )
    result = execute_run(job, run, instance)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    first, second = result.asset_value("second")
    assert first != second and os.getpid() not in (first, second)


SPAWN_RANGE_CODE = """
import kubedag as dg

@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
def days(context) -> dict:
    return {key: len(key) for key in context.partition_keys}

defs = dg.Definitions(assets=[days], jobs=[dg.define_asset_job("ranged")])
"""


def test_spawn_runs_a_range_of_partitions(instance: dg.Instance, tmp_path: Path) -> None:
    code = tmp_path / "spawn_range_defs.py"
    code.write_text(SPAWN_RANGE_CODE)
    from kubedag.code_location.load import load_definitions

    job = load_definitions(python_file=str(code)).get_job_def("ranged")
    spawn = {"execution": {"config": {"multiprocess": {"start_method": "spawn"}}}}
    run = instance.create_run(
        job_name="ranged",
        run_config=spawn,
        code_location={"python_file": str(code)},
        tags={
            "kubedag/asset_partition_range_start": "2024-01-02",
            "kubedag/asset_partition_range_end": "2024-01-04",
        },
    )
    result = execute_run(job, run, instance)
    assert result.success, [e.message for e in result.get_step_failure_events()]
    materialized = {
        e.event.event_specific_data.partition
        for e in instance.all_logs(run.run_id)
        if e.event is not None and e.event.event_type is dg.EventType.ASSET_MATERIALIZATION
    }
    assert materialized == {"2024-01-02", "2024-01-03", "2024-01-04"}


def test_each_step_process_initializes_only_the_resources_its_step_needs(
    instance: dg.Instance, tmp_path: Path
) -> None:
    seen = tmp_path / "resources"
    seen.mkdir()

    @dg.resource
    def tracked(context: dg.InitResourceContext) -> Iterator[str]:
        (seen / f"up-{os.getpid()}").touch()
        yield "ready"
        (seen / f"down-{os.getpid()}").touch()

    @dg.resource
    def broken(context: dg.InitResourceContext) -> str:
        raise ConnectionError("no database here")

    @dg.asset(required_resource_keys={"tracked"})
    def uses(context: dg.AssetExecutionContext) -> str:
        return f"{context.resources.tracked} in {os.getpid()}"

    @dg.asset
    def plain() -> int:
        return 1

    @dg.asset(required_resource_keys={"broken"})
    def needs_broken() -> None:
        pass

    defs = dg.Definitions(
        assets=[uses, plain, needs_broken],
        resources={"tracked": tracked, "broken": broken},
        jobs=[dg.define_asset_job("j")],
    )
    result = dg.execute_job(defs.get_job_def("j"), instance, run_config=MP)
    pid = int(result.asset_value("uses").split()[-1])
    assert sorted(p.name for p in seen.iterdir()) == [f"down-{pid}", f"up-{pid}"]
    assert result.is_node_success("plain")
    assert result.get_failed_step_keys() == {"needs_broken"}
    types = step_types(result, "needs_broken")
    assert types == ["RESOURCE_INIT_FAILURE", "STEP_FAILURE"]
    assert "no database here" in result.get_step_failure_events()[0].message
