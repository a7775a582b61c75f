"""Success and failure hooks inside real runs: which hooks run after which step, what their
context holds, the HOOK_* events they leave, and that a failing hook does not fail the run."""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.records.events import EventType
from kubedag.storage.serialization import deserialize_entry, serialize_entry


def hook_events(result: Any) -> list[tuple[str, str | None, str]]:
    return [
        (e.event_type.value, e.step_key, e.message)
        for e in result.all_events
        if e.event_type.value.startswith("HOOK_")
    ]


def test_success_and_failure_hooks_follow_the_step_outcome() -> None:
    calls: list[tuple[str, str]] = []

    @dg.success_hook
    def on_ok(context: dg.HookContext) -> None:
        calls.append(("ok", context.op.name))

    @dg.failure_hook
    def on_fail(context: dg.HookContext) -> None:
        calls.append(("fail", context.op.name))

    @dg.op
    def good() -> int:
        return 1

    @dg.op
    def bad(x: int) -> None:
        raise RuntimeError("bad broke")

    @dg.job(hooks={on_ok, on_fail})
    def pipeline() -> None:
        bad(good())

    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    assert calls == [("ok", "good"), ("fail", "bad")]
    assert [(t, s) for t, s, _ in hook_events(result)] == [
        ("HOOK_SKIPPED", "good"),  # on_fail after a success (hooks run in name order)
        ("HOOK_COMPLETED", "good"),
        ("HOOK_COMPLETED", "bad"),
        ("HOOK_SKIPPED", "bad"),
    ]
    messages = [m for _, _, m in hook_events(result)]
    assert messages[1] == 'Finished the execution of hook "on_ok" triggered for "good".'
    assert messages[0] == (
        'Skipped the execution of hook "on_fail". It did not meet its triggering condition '
        'during the execution of "good".'
    )


def test_hook_context_describes_the_step() -> None:
    seen: dict[str, Any] = {}

    class Counter(dg.ConfigurableResource):
        start: int

    @dg.success_hook(name="report", required_resource_keys={"counter"})
    def inspect_step(context: dg.HookContext) -> None:
        seen.update(
            op=context.op.name,
            step_key=context.step_key,
            job=context.job_name,
            run_id=context.run_id,
            config=context.op_config,
            outputs=dict(context.op_output_values),
            counter=context.resources.counter.start,
            keys=context.required_resource_keys,
            hook=context.hook_def.name,
            exception=context.op_exception,
            is_logger=isinstance(context.log, dg.DagsterLogManager),
        )
        context.log.info("hook says hello")

    @dg.op(config_schema={"factor": int})
    def scaled(context: dg.OpExecutionContext) -> int:
        return 2 * context.op_config["factor"]

    @dg.job(hooks={inspect_step}, resource_defs={"counter": Counter(start=7)})
    def pipeline() -> None:
        scaled()

    result = pipeline.execute_in_process(run_config={"ops": {"scaled": {"config": {"factor": 5}}}})
    assert seen == {
        "op": "scaled",
        "step_key": "scaled",
        "job": "pipeline",
        "run_id": result.run_id,
        "config": {"factor": 5},
        "outputs": {"result": 10},
        "counter": 7,
        "keys": frozenset({"counter"}),
        "hook": "report",
        "exception": None,
        "is_logger": True,
    }
    logged = [e for e in result.instance.all_logs(result.run_id) if not e.is_event]
    assert [(e.user_message, e.step_key) for e in logged] == [("hook says hello", "scaled")]


def test_failure_hook_sees_the_exception_the_op_raised() -> None:
    raised: list[BaseException | None] = []

    @dg.failure_hook(name="alert")
    def alert(context: dg.HookContext) -> None:
        raised.append(context.op_exception)

    @dg.op
    def explode() -> None:
        raise KeyError("missing row")

    @dg.job(hooks={alert})
    def pipeline() -> None:
        explode()

    pipeline.execute_in_process(raise_on_error=False)
    assert len(raised) == 1 and isinstance(raised[0], KeyError)
    assert raised[0].args == ("missing row",)


def test_a_hook_that_raises_is_recorded_and_the_run_still_succeeds() -> None:
    @dg.success_hook
    def broken(context: dg.HookContext) -> None:
        raise ValueError("hook broke")

    @dg.op
    def fine() -> int:
        return 1

    @dg.job(hooks={broken})
    def pipeline() -> None:
        fine()

    result = pipeline.execute_in_process()
    assert result.success and result.run.status is dg.RunStatus.SUCCESS
    [errored] = [e for e in result.all_events if e.event_type is EventType.HOOK_ERRORED]
    assert errored.step_key == "fine"
    assert errored.event_specific_data.hook_name == "broken"
    assert errored.event_specific_data.error.cls_name == "ValueError"
    assert "hook broke" in errored.message
    stored = [
        e
        for e in result.instance.all_logs(result.run_id)
        if e.event is not None and e.event.event_type is EventType.HOOK_ERRORED
    ]
    assert stored[0].level == 40  # ERROR


def test_with_hooks_attaches_a_hook_to_one_use_of_an_op() -> None:
    calls: list[str] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append(context.op.name)

    @dg.op
    def step(x: int = 0) -> int:
        return x + 1

    @dg.job
    def pipeline() -> None:
        first = step.with_hooks({note}).alias("first")()
        step.alias("second")(step.alias("middle").with_hooks({note})(first))

    result = pipeline.execute_in_process()
    assert result.success
    assert calls == ["first", "middle"]
    assert [s for _, s, _ in hook_events(result)] == ["first", "middle"]


def test_hooks_on_a_graph_node_apply_to_each_of_its_ops() -> None:
    calls: list[str] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append(context.step_key)

    @dg.op
    def one() -> int:
        return 1

    @dg.op
    def plus(x: int) -> int:
        return x + 1

    @dg.graph
    def inner() -> Any:
        return plus(one())

    @dg.op
    def outside(x: int) -> int:
        return x

    @dg.job
    def pipeline() -> None:
        outside(inner.with_hooks({note})())

    assert pipeline.execute_in_process().success
    assert calls == ["inner.one", "inner.plus"]


def test_job_with_hooks_and_a_hook_used_as_a_decorator() -> None:
    calls: list[str] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append(context.op.name)

    @dg.op
    def only() -> None:
        pass

    @dg.job
    def plain() -> None:
        only()

    assert plain.hook_defs == frozenset() and plain.step_hooks == {}
    hooked = plain.with_hooks({note})
    assert hooked.hook_defs == {note} and plain.hook_defs == frozenset()
    assert hooked.execute_in_process().success
    decorated = note(plain)
    assert isinstance(decorated, dg.JobDefinition) and decorated.hook_defs == {note}
    assert decorated.execute_in_process().success
    assert calls == ["only", "only"]


def test_graph_to_job_takes_hooks() -> None:
    calls: list[str] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append(context.job_name)

    @dg.op
    def only() -> None:
        pass

    @dg.graph
    def g() -> None:
        only()

    assert g.to_job(name="from_graph", hooks={note}).execute_in_process().success
    assert calls == ["from_graph"]


def test_hooks_on_an_asset_job() -> None:
    calls: list[tuple[str, Any]] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append((context.step_key, context.op_output_values.get("result")))

    @dg.asset
    def upstream() -> int:
        return 3

    @dg.asset
    def downstream(upstream: int) -> int:
        return upstream * 2

    job = dg.define_asset_job("with_hooks", hooks={note})
    defs = dg.Definitions(assets=[upstream, downstream], jobs=[job])
    result = defs.get_job_def("with_hooks").execute_in_process()
    assert result.success
    assert calls == [("upstream", 3), ("downstream", 6)]


def test_a_hook_needs_its_resources_bound() -> None:
    @dg.success_hook(required_resource_keys={"slack"})
    def notify(context: dg.HookContext) -> None:
        pass

    @dg.op
    def only() -> None:
        pass

    @dg.job(hooks={notify})
    def pipeline() -> None:
        only()

    with pytest.raises(dg.InvalidDefinitionError, match=r"hook 'notify'.*'slack'"):
        pipeline.execute_in_process()


def test_a_hook_that_returns_no_result_is_an_error_not_a_crash() -> None:
    from kubedag.definitions.hooks import HookDefinition

    sloppy = HookDefinition(name="sloppy", hook_fn=lambda context, events: None)

    @dg.op
    def only() -> None:
        pass

    @dg.job(hooks={sloppy})
    def pipeline() -> None:
        only()

    result = pipeline.execute_in_process()
    assert result.success
    [(kind, _, message)] = hook_events(result)
    assert kind == "HOOK_ERRORED" and "HookExecutionResult" in message


def test_hook_events_survive_the_event_log_round_trip() -> None:
    @dg.success_hook
    def broken(context: dg.HookContext) -> None:
        raise ValueError("nope")

    @dg.op
    def only() -> None:
        pass

    @dg.job(hooks={broken})
    def pipeline() -> None:
        only()

    result = pipeline.execute_in_process()
    [entry] = [
        e
        for e in result.instance.all_logs(result.run_id)
        if e.event is not None and e.event.event_type is EventType.HOOK_ERRORED
    ]
    again = deserialize_entry(serialize_entry(entry))
    assert again.event == entry.event
    assert again.event.event_specific_data.error.message == "ValueError: nope"


def test_a_job_without_hooks_runs_no_hook_code() -> None:
    @dg.op
    def only() -> int:
        return 1

    @dg.job
    def pipeline() -> None:
        only()

    assert pipeline.step_hooks == {}
    result = pipeline.execute_in_process()
    assert hook_events(result) == []


# -- in a step's own process ---------------------------------------------------------------------
@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        yield instance


def test_hooks_run_in_the_step_process_with_the_multiprocess_executor(
    instance: dg.Instance, tmp_path: Path
) -> None:
    out = tmp_path / "hooks"
    out.mkdir()

    @dg.success_hook(required_resource_keys={"target"})
    def record(context: dg.HookContext) -> None:
        values = dict(context.op_output_values)
        path = Path(context.resources.target) / context.step_key
        path.write_text(json.dumps({"pid": os.getpid(), "values": values}))

    @dg.failure_hook
    def record_failure(context: dg.HookContext) -> None:
        (out / f"{context.step_key}.failed").write_text(repr(context.op_exception))

    @dg.op
    def produce() -> int:
        return os.getpid()

    @dg.op
    def fail(x: int) -> None:
        raise ValueError("in child")

    @dg.job(
        hooks={record, record_failure},
        resource_defs={"target": dg.ResourceDefinition.hardcoded_resource(str(out))},
        executor_def=dg.multiprocess_executor,
    )
    def pipeline() -> None:
        fail(produce())

    result = dg.execute_job(pipeline, instance)
    assert not result.success
    written = json.loads((out / "produce").read_text())
    assert written["pid"] != os.getpid()
    assert written["values"] == {"result": written["pid"]}  # the hook ran where the op ran
    assert (out / "fail.failed").read_text() == "ValueError('in child')"
    stored = [
        (e.event.event_type.value, e.step_key)
        for e in instance.all_logs(result.run_id)
        if e.event is not None and e.event.event_type.value.startswith("HOOK_")
    ]
    assert sorted(stored) == [
        ("HOOK_COMPLETED", "fail"),
        ("HOOK_COMPLETED", "produce"),
        ("HOOK_SKIPPED", "fail"),
        ("HOOK_SKIPPED", "produce"),
    ]


def test_a_retried_step_runs_its_hooks_once_with_its_last_error() -> None:
    attempts: list[int] = []
    failures: list[str] = []

    @dg.failure_hook
    def on_fail(context: dg.HookContext) -> None:
        failures.append(str(context.op_exception))

    @dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
    def flaky(context: dg.OpExecutionContext) -> None:
        attempts.append(context.retry_number)
        raise RuntimeError(f"attempt {context.retry_number}")

    @dg.job(hooks={on_fail})
    def pipeline() -> None:
        flaky()

    result = pipeline.execute_in_process(raise_on_error=False)
    assert attempts == [0, 1, 2]
    assert failures == ["attempt 2"]
    assert [t for t, _, _ in hook_events(result)] == ["HOOK_COMPLETED"]


def test_a_hook_used_as_a_decorator_on_an_asset_or_graph() -> None:
    calls: list[str] = []

    @dg.success_hook
    def note(context: dg.HookContext) -> None:
        calls.append(context.step_key)

    @note
    @dg.asset
    def decorated() -> int:
        return 1

    assert isinstance(decorated, dg.AssetsDefinition) and decorated.hook_defs == {note}
    assert dg.materialize([decorated]).success
    assert calls == ["decorated"]
