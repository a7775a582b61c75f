"""`DynamicOut` / `DynamicOutput` with `.map()` and `.collect()`: one step per mapping key,
named `op[mapping_key]` as in the reference, in process and in the multiprocess executor."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import InvalidDefinitionError
from kubedag.execution.run import execute_run
from kubedag.records.events import EventType


@dg.op(out=dg.DynamicOut())
def letters() -> Iterator[dg.DynamicOutput]:
    for key in ["a", "b", "c"]:
        yield dg.DynamicOutput(ord(key) - 96, mapping_key=key)


@dg.op
def inc(x: int) -> int:
    return x + 1


@dg.op
def double(x: int) -> int:
    return x * 2


@dg.op
def total(xs: list[int]) -> list[int]:
    return sorted(xs)


@dg.job
def chained() -> None:
    total(letters().map(inc).map(double).collect())


def terminal(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    kinds = {EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED}
    return [
        (e.event_type.value, e.step_key or "") for e in result.all_events if e.event_type in kinds
    ]


def test_map_fans_out_one_step_per_mapping_key_and_collect_gathers_them() -> None:
    result = chained.execute_in_process()
    assert result.success
    started = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]
    assert started == [
        "letters",
        "inc[a]",
        "inc[b]",
        "inc[c]",
        "double[a]",
        "double[b]",
        "double[c]",
        "total",
    ]
    outputs = [
        e.event_specific_data.mapping_key
        for e in result.all_events
        if e.event_type is EventType.STEP_OUTPUT and e.step_key == "letters"
    ]
    assert outputs == ["a", "b", "c"]
    assert result.output_for_node("total") == [4, 6, 8]
    # A dynamic or mapped node's output is its values by mapping key.
    assert result.output_for_node("letters") == {"a": 1, "b": 2, "c": 3}
    assert result.output_for_node("double") == {"a": 4, "b": 6, "c": 8}


def test_collecting_the_dynamic_output_itself_and_no_values_at_all() -> None:
    @dg.op(out=dg.DynamicOut())
    def nothing() -> Iterator[dg.DynamicOutput]:
        yield from ()

    @dg.job
    def direct() -> None:
        total(letters().collect())
        total.alias("empty")(nothing().map(inc).collect())

    result = direct.execute_in_process()
    assert result.output_for_node("total") == [1, 2, 3]
    assert result.output_for_node("empty") == []
    assert not any(e.step_key and e.step_key.startswith("inc") for e in result.all_events)


def test_a_failed_mapped_step_stops_its_own_chain_only() -> None:
    @dg.op
    def fail_on_two(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    @dg.job
    def partial() -> None:
        total(letters().map(fail_on_two).map(inc).collect())

    result = partial.execute_in_process(raise_on_error=False)
    assert not result.success
    assert terminal(result) == [
        ("STEP_SUCCESS", "letters"),
        ("STEP_SUCCESS", "fail_on_two[a]"),
        ("STEP_FAILURE", "fail_on_two[b]"),
        ("STEP_SUCCESS", "fail_on_two[c]"),
        ("STEP_SUCCESS", "inc[a]"),
        ("STEP_SKIPPED", "inc[b]"),
        ("STEP_SUCCESS", "inc[c]"),
        ("STEP_SKIPPED", "total"),
    ]
    assert result.get_failed_step_keys() == {"fail_on_two[b]"}


def test_a_failed_dynamic_step_leaves_no_mapped_steps() -> None:
    @dg.op(out=dg.DynamicOut())
    def broken() -> Iterator[dg.DynamicOutput]:
        raise ValueError("no values")
        yield

    @dg.job
    def never() -> None:
        total(broken().map(inc).collect())

    result = never.execute_in_process(raise_on_error=False)
    assert terminal(result) == [("STEP_FAILURE", "broken"), ("STEP_SKIPPED", "total")]


@pytest.mark.parametrize("bad", ["a-b", "", "a b", "x.y"])
def test_mapping_keys_are_checked_like_names(bad: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=r"\^\[A-Za-z0-9_\]\+\$"):
        dg.DynamicOutput(1, mapping_key=bad)
    with pytest.raises(InvalidDefinitionError, match="must be a str"):
        dg.DynamicOutput(1, mapping_key=3)  # type: ignore[arg-type]


def run_failure(op_def: dg.OpDefinition, mapped: bool) -> str:
    @dg.job
    def one() -> None:
        if mapped:
            op_def().map(inc)
        else:
            op_def()

    result = one.execute_in_process(raise_on_error=False)
    [failure] = result.get_step_failure_events()
    return failure.step_failure_data.error.message  # type: ignore[union-attr]


def test_what_a_dynamic_op_yields_is_checked() -> None:
    @dg.op(out=dg.DynamicOut())
    def twice() -> Iterator[dg.DynamicOutput]:
        yield dg.DynamicOutput(1, mapping_key="x")
        yield dg.DynamicOutput(2, mapping_key="x")

    @dg.op(out=dg.DynamicOut())
    def plain_output() -> Iterator[dg.Output]:
        yield dg.Output(1)

    @dg.op
    def not_dynamic() -> Iterator[dg.DynamicOutput]:
        yield dg.DynamicOutput(1, mapping_key="x")

    assert 'mapping_key "x" multiple times' in run_failure(twice, True)
    assert "is a DynamicOut, so yield dg.DynamicOutput" in run_failure(plain_output, True)
    assert "not declared with dg.DynamicOut()" in run_failure(not_dynamic, False)


def test_a_dynamic_output_must_be_mapped_or_collected() -> None:
    with pytest.raises(InvalidDefinitionError, match="must be unpacked by invoking map or collect"):

        @dg.job
        def direct() -> None:
            inc(letters())  # type: ignore[arg-type]


def test_a_list_of_dynamic_outputs_can_be_returned() -> None:
    @dg.op(out=dg.DynamicOut(int))
    def returned() -> list[dg.DynamicOutput[int]]:
        return [dg.DynamicOutput(n, mapping_key=f"n{n}") for n in range(3)]

    @dg.job
    def from_list() -> None:
        total(returned().map(double).collect())

    result = from_list.execute_in_process()
    assert result.output_for_node("total") == [0, 2, 4]
    assert "double[n2]" in [e.step_key for e in result.get_step_success_events()]


@dg.op
def where(x: int) -> list[int]:
    return [x, os.getpid()]


@dg.op
def gather(items: list[list[int]]) -> list[list[int]]:
    return items


@dg.job
def in_processes() -> None:
    gather(letters().map(where).collect())


def test_mapped_steps_run_in_their_own_processes(tmp_path: Path) -> None:
    config = {"execution": {"config": {"multiprocess": {"max_concurrent": 3}}}}
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        result = dg.execute_job(dg.reconstructable(in_processes), instance, run_config=config)
        assert result.success
        items = result.output_for_node("gather")
        assert [x for x, _ in items] == [1, 2, 3]
        pids = {pid for _, pid in items}
        assert len(pids) == 3 and os.getpid() not in pids
        assert result.output_for_node("where")["b"][0] == 2


SPAWN_CODE = """
import kubedag as dg

@dg.op(out=dg.DynamicOut())
def letters():
    for key in ["a", "b"]:
        yield dg.DynamicOutput(key * 2, mapping_key=key)

@dg.op
def upper(x: str) -> str:
    return x.upper()

@dg.op
def joined(xs: list) -> str:
    return "-".join(xs)

@dg.job
def spawned():
    joined(letters().map(upper).collect())

defs = dg.Definitions(jobs=[spawned])
"""


def test_mapped_and_collecting_steps_rebuild_themselves_in_spawned_processes(
    tmp_path: Path,
) -> None:
    code = tmp_path / "dynamic_spawn_defs.py"
    code.write_text(SPAWN_CODE)
    from kubedag.code_location.load import load_definitions

    job = load_definitions(python_file=str(code)).get_job_def("spawned")
    spawn = {"execution": {"config": {"multiprocess": {"start_method": "spawn"}}}}
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        run = instance.create_run(
            job_name="spawned", run_config=spawn, code_location={"python_file": str(code)}
        )
        result = execute_run(job, run, instance)
        assert result.success, [e.message for e in result.get_step_failure_events()]
        assert result.output_for_node("joined") == "AA-BB"
