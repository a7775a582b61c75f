"""Re-execution: which steps run again (pure planning), and real re-executions that load the
values of the steps they skip from the runs that produced them."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import RunNotFoundError
from kubedag.execution.reexecution import (
    PARENT_RUN_ID_TAG,
    RESUME_RETRY_TAG,
    ROOT_RUN_ID_TAG,
    ReexecutionError,
    StepHistory,
    output_sources,
    plan_from_failure,
    reexecute_run,
    resolve_step_selection,
)
from kubedag.execution.run import execute_run
from kubedag.records.events import EventType

MP = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}

# a -> b -> d, a -> c -> d, e alone
ORDER = ["a", "b", "c", "d", "e"]
UPSTREAM = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ()}


def history(**events: list[str]) -> StepHistory:
    kinds = {
        "started": EventType.STEP_START,
        "succeeded": EventType.STEP_SUCCESS,
        "failed": EventType.STEP_FAILURE,
        "skipped": EventType.STEP_SKIPPED,
        "produced": EventType.STEP_OUTPUT,
    }
    return StepHistory.from_events(
        (key, kinds[kind]) for kind, keys in events.items() for key in keys
    )


# -- planning ------------------------------------------------------------------------------------
def test_from_failure_reruns_the_failed_step_and_everything_downstream() -> None:
    parent = history(
        started=["a", "b", "c", "e"], succeeded=["a", "c", "e"], failed=["b"], skipped=["d"]
    )
    assert plan_from_failure(ORDER, UPSTREAM, parent) == ["b", "d"]


def test_from_failure_reruns_interrupted_and_never_started_steps() -> None:
    # Canceled while b ran: b started without an outcome, c, d and e never started.
    parent = history(started=["a", "b"], succeeded=["a"])
    assert parent.interrupted == {"b"}
    assert plan_from_failure(ORDER, UPSTREAM, parent) == ["b", "c", "d", "e"]


def test_from_failure_reruns_a_succeeded_step_downstream_of_a_failure() -> None:
    parent = history(succeeded=["b", "c", "d", "e"], failed=["a"])
    assert plan_from_failure(ORDER, UPSTREAM, parent) == ["a", "b", "c", "d"]


def test_step_selection_queries() -> None:
    assert resolve_step_selection(["b"], ORDER, UPSTREAM) == ["b"]
    assert resolve_step_selection(["*d"], ORDER, UPSTREAM) == ["a", "b", "c", "d"]
    assert resolve_step_selection(["a+"], ORDER, UPSTREAM) == ["a", "b", "c"]
    assert resolve_step_selection(["a*"], ORDER, UPSTREAM) == ["a", "b", "c", "d"]
    assert resolve_step_selection(["+d", "e"], ORDER, UPSTREAM) == ["b", "c", "d", "e"]
    with pytest.raises(dg.InvalidSelectionError, match="step_selection: 'z'"):
        resolve_step_selection(["z"], ORDER, UPSTREAM)
    with pytest.raises(dg.InvalidSelectionError, match="not a step query"):
        resolve_step_selection(["a+*"], ORDER, UPSTREAM)


def test_outputs_come_from_the_nearest_run_that_stored_them() -> None:
    chain = [
        ("run2", history(produced=["b"])),
        ("run1", history(produced=["a", "b", "c"])),
    ]
    assert output_sources(chain) == {"b": "run2", "a": "run1", "c": "run1"}


# -- real re-executions -------------------------------------------------------------------------
@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        yield instance


@pytest.fixture
def breaks(tmp_path: Path) -> Path:
    """A directory of switches: a step fails while a file named after it exists."""
    path = tmp_path / "breaks"
    path.mkdir()
    return path


def asset_job(breaks: Path, calls: Path) -> dg.JobDefinition:
    def called(name: str) -> None:
        (calls / name).write_text(str(len(list(calls.glob(f"{name}*")))))

    @dg.asset
    def raw() -> int:
        called("raw")
        return 1

    @dg.asset
    def cleaned(raw: int) -> int:
        called("cleaned")
        if (breaks / "cleaned").exists():
            raise RuntimeError("cleaning broke")
        return raw + 10

    @dg.asset
    def report(cleaned: int) -> int:
        called("report")
        return cleaned * 2

    @dg.asset
    def side() -> int:
        called("side")
        return 5

    defs = dg.Definitions(assets=[raw, cleaned, report, side], jobs=[dg.define_asset_job("assets")])
    return defs.get_job_def("assets")


def succeeded_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(e.step_key for e in result.get_step_success_events() if e.step_key)


def test_asset_job_from_failure_runs_only_the_failed_step_and_its_downstream(
    instance: dg.Instance, breaks: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    job = asset_job(breaks, calls)
    (breaks / "cleaned").touch()
    parent = dg.execute_job(job, instance, run_config=MP, tags={"team": "data"})
    assert not parent.success
    assert parent.is_node_skipped("report")

    (breaks / "cleaned").unlink()
    for path in calls.iterdir():
        path.unlink()
    options = dg.ReexecutionOptions.from_failure(parent.run_id, instance)
    child = dg.execute_job(job, instance, reexecution_options=options)

    assert child.success
    assert succeeded_steps(child) == ["cleaned", "report"]
    assert sorted(p.name for p in calls.iterdir()) == ["cleaned", "report"]
    assert child.asset_value("report") == 22  # raw's value came from the parent's run
    run = child.run
    assert run.parent_run_id == parent.run_id
    assert run.root_run_id == parent.run_id
    assert run.step_keys_to_execute == ("cleaned", "report")
    assert run.run_config == parent.run.run_config
    assert run.tags["team"] == "data"
    assert run.tags[PARENT_RUN_ID_TAG] == parent.run_id
    assert run.tags[ROOT_RUN_ID_TAG] == parent.run_id
    assert run.tags[RESUME_RETRY_TAG] == "true"


def op_job(breaks: Path) -> dg.JobDefinition:
    @dg.op
    def extract() -> list[int]:
        return [1, 2, 3]

    @dg.op
    def transform(rows: list[int]) -> list[int]:
        if (breaks / "transform").exists():
            raise RuntimeError("transform broke")
        return [r * 10 for r in rows]

    @dg.op
    def load(rows: list[int]) -> int:
        if (breaks / "load").exists():
            raise RuntimeError("load broke")
        return sum(rows)

    @dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}))
    def etl() -> None:
        load(transform(extract()))

    return etl


def test_op_job_from_failure_loads_op_outputs_from_the_runs_that_stored_them(
    instance: dg.Instance, breaks: Path
) -> None:
    job = op_job(breaks)
    (breaks / "transform").touch()
    (breaks / "load").touch()
    first = dg.execute_job(job, instance)
    assert first.get_failed_step_keys() == {"transform"}

    (breaks / "transform").unlink()
    second = dg.execute_job(
        job,
        instance,
        reexecution_options=dg.ReexecutionOptions.from_failure(first.run_id, instance),
    )
    assert succeeded_steps(second) == ["transform"]  # extract's output came from the first run
    assert second.get_failed_step_keys() == {"load"}

    (breaks / "load").unlink()
    third = dg.execute_job(
        job,
        instance,
        reexecution_options=dg.ReexecutionOptions.from_failure(second.run_id, instance),
    )
    assert succeeded_steps(third) == ["load"]  # transform's output came from the second run
    assert third.output_for_node("load") == 60
    assert third.run.parent_run_id == second.run_id
    assert third.run.root_run_id == first.run_id
    assert third.run.tags[ROOT_RUN_ID_TAG] == first.run_id


def test_step_selection_reexecutes_only_the_selected_steps(
    instance: dg.Instance, breaks: Path
) -> None:
    job = op_job(breaks)
    parent = dg.execute_job(job, instance)
    assert parent.success
    options = dg.ReexecutionOptions(parent.run_id, step_selection=["transform"])
    child = dg.execute_job(job, instance, reexecution_options=options)
    assert child.success
    assert succeeded_steps(child) == ["transform"]
    assert child.output_for_node("transform") == [10, 20, 30]
    assert child.run.step_keys_to_execute == ("transform",)
    assert RESUME_RETRY_TAG not in child.run.tags
    with pytest.raises(ReexecutionError, match="step_selection"):
        dg.ReexecutionOptions.from_failure(parent.run_id, instance)


def test_reexecute_run_creates_the_record_for_a_worker_to_execute(
    instance: dg.Instance, breaks: Path
) -> None:
    job = op_job(breaks)
    (breaks / "load").touch()
    parent = dg.execute_job(job, instance)
    (breaks / "load").unlink()

    record = reexecute_run(instance, parent.run_id, job)
    assert record.status is dg.RunStatus.NOT_STARTED
    assert record.step_keys_to_execute == ("load",)
    assert not [e for e in instance.all_logs(record.run_id) if e.event is not None]

    result = execute_run(job, record, instance)
    assert result.success
    assert result.output_for_node("load") == 60
    with pytest.raises(RunNotFoundError, match="parent_run_id"):
        reexecute_run(instance, "no-such-run", job)
    with pytest.raises(ReexecutionError, match="job"):
        reexecute_run(instance, parent.run_id, asset_job(breaks, breaks))
