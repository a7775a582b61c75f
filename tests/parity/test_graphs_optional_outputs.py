"""`Out(is_required=False)`: what reads an output that was not yielded is skipped, not failed,
in process and in the multiprocess executor."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.records.events import EventType


@dg.op(out={"a": dg.Out(is_required=False), "b": dg.Out(is_required=False)})
def maybe() -> Iterator[dg.Output]:
    yield dg.Output(1, "a")


@dg.op
def use(x: int) -> int:
    return x + 1


@dg.op
def fan(xs: list[int]) -> list[int]:
    return xs


@dg.job
def optional_job() -> None:
    a, b = maybe()
    use(a)
    use.alias("use_b")(b)
    use.alias("after_b")(use.alias("middle")(use.alias("second")(b)))
    fan.alias("both")([a, b])
    fan.alias("only_b")([b])


def outcome(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    terminal = {EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED}
    return {
        e.step_key: e.event_type.value
        for e in result.all_events
        if e.event_type in terminal and e.step_key
    }


EXPECTED = {
    "maybe": "STEP_SUCCESS",
    "use": "STEP_SUCCESS",
    "use_b": "STEP_SKIPPED",
    "second": "STEP_SKIPPED",
    "middle": "STEP_SKIPPED",
    "after_b": "STEP_SKIPPED",
    "both": "STEP_SUCCESS",
    "only_b": "STEP_SKIPPED",
}


def test_a_missing_optional_output_skips_what_reads_it_and_the_run_succeeds() -> None:
    result = optional_job.execute_in_process()
    assert result.success
    assert outcome(result) == EXPECTED
    assert result.output_for_node("use") == 2
    # A fan-in input gets the outputs that were yielded.
    assert result.output_for_node("both") == [1]
    skipped = {e.step_key: e.message for e in result.get_step_skipped_events()}
    assert 'optional output "b" of step "maybe"' in skipped["use_b"]
    assert 'upstream step "second" was skipped' in skipped["middle"]
    with pytest.raises(ValueError, match="did not produce"):
        result.output_for_node("use_b")


def test_a_yielded_optional_output_runs_its_readers() -> None:
    @dg.op(out={"a": dg.Out(is_required=False)})
    def sometimes() -> Iterator[dg.Output]:
        yield dg.Output(5, "a")

    @dg.job
    def yes() -> None:
        use(sometimes())

    result = yes.execute_in_process()
    assert result.output_for_node("use") == 6


def test_skipping_works_the_same_in_the_multiprocess_executor(tmp_path: Path) -> None:
    config = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        result = dg.execute_job(dg.reconstructable(optional_job), instance, run_config=config)
        assert result.success
        assert outcome(result) == EXPECTED
        assert result.output_for_node("both") == [1]
        stored = [
            entry.event.step_key
            for entry in instance.all_logs(result.run_id)
            if entry.event is not None and entry.event.event_type is EventType.STEP_SKIPPED
        ]
        assert sorted(stored) == sorted(k for k, v in EXPECTED.items() if v == "STEP_SKIPPED")
