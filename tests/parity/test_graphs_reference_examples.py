"""Examples from the reference's documentation, rewritten: processing the files of a directory
with a dynamic graph, conditional branching with optional outputs, and a graph built from a
dependency dict; run end to end, in process and with the multiprocess executor."""

import os
import random
from collections.abc import Iterator
from pathlib import Path

import kubedag as dg
from kubedag.records.events import EventType


# -- a directory processed one file per step -----------------------------------------------------
class DirectoryConfig(dg.Config):
    path: str


def clean_key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


@dg.op(out=dg.DynamicOut(str))
def files_in_directory(config: DirectoryConfig) -> Iterator[dg.DynamicOutput[str]]:
    directory, _, names = next(os.walk(config.path))
    for name in sorted(names):
        yield dg.DynamicOutput(os.path.join(directory, name), mapping_key=clean_key(name))


@dg.op
def process_file(path: str) -> int:
    return len(Path(path).read_text().split())


@dg.op
def summarize_directory(counts: list[int]) -> dict[str, int]:
    return {"files": len(counts), "words": sum(counts)}


@dg.job
def process_directory() -> None:
    counts = files_in_directory().map(process_file)
    summarize_directory(counts.collect())


def sample_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "sample"
    directory.mkdir()
    (directory / "one.txt").write_text("a b c")
    (directory / "two.txt").write_text("d e")
    (directory / "notes.md").write_text("f")
    return directory


def test_the_directory_example_in_process(tmp_path: Path) -> None:
    directory = sample_directory(tmp_path)
    config = {"ops": {"files_in_directory": {"config": {"path": str(directory)}}}}
    result = process_directory.execute_in_process(run_config=config)
    assert result.success
    assert result.output_for_node("summarize_directory") == {"files": 3, "words": 6}
    assert result.output_for_node("process_file") == {"notes_md": 1, "one_txt": 3, "two_txt": 2}
    mapped = sorted(
        e.step_key for e in result.get_step_success_events() if e.step_key.startswith("process")
    )
    assert mapped == ["process_file[notes_md]", "process_file[one_txt]", "process_file[two_txt]"]


def test_the_directory_example_with_a_process_per_file(tmp_path: Path) -> None:
    directory = sample_directory(tmp_path)
    config = {
        "ops": {"files_in_directory": {"config": {"path": str(directory)}}},
        "execution": {"config": {"multiprocess": {"max_concurrent": 3}}},
    }
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        result = dg.execute_job(dg.reconstructable(process_directory), instance, run_config=config)
        assert result.success
        assert result.output_for_node("summarize_directory") == {"files": 3, "words": 6}


# -- conditional branching ---------------------------------------------------------------------
@dg.op(out={"branch_1": dg.Out(is_required=False), "branch_2": dg.Out(is_required=False)})
def branching_op(context: dg.OpExecutionContext) -> Iterator[dg.Output]:
    number = random.Random(context.run_id).randint(0, 1)
    if number == 0:
        yield dg.Output(1, "branch_1")
    else:
        yield dg.Output(2, "branch_2")


@dg.op
def branch_1_op(value: int) -> Iterator[dg.ExpectationResult | dg.Output]:
    yield dg.ExpectationResult(value == 1, "took_branch_1")
    yield dg.Output(value)


@dg.op
def branch_2_op(value: int) -> int:
    return value


@dg.job
def branching() -> None:
    one, two = branching_op()
    branch_1_op(one)
    branch_2_op(two)


def test_exactly_one_branch_runs_and_the_other_is_skipped(tmp_path: Path) -> None:
    taken: set[str] = set()
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        for _ in range(40):  # until both branches were taken (random: 2**-39 to miss one)
            if len(taken) == 2:
                break
            result = branching.execute_in_process(instance=instance)
            assert result.success
            ran = {"branch_1_op", "branch_2_op"} & {
                e.step_key for e in result.get_step_success_events()
            }
            skipped = {e.step_key for e in result.get_step_skipped_events()}
            assert len(ran) == 1 and skipped == {"branch_1_op", "branch_2_op"} - ran
            taken |= ran
            if "branch_1_op" in ran:
                [expectation] = result.expectation_results_for_node("branch_1_op")
                assert expectation.success and expectation.label == "took_branch_1"
    assert taken == {"branch_1_op", "branch_2_op"}


def test_branching_and_expectations_in_the_multiprocess_executor(tmp_path: Path) -> None:
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        outcomes = set()
        for _ in range(6):
            result = dg.execute_job(dg.reconstructable(branching), instance)
            assert result.success
            outcomes.add(frozenset(e.step_key for e in result.get_step_skipped_events()))
            expectations = [
                entry.event.event_specific_data
                for entry in instance.all_logs(result.run_id)
                if entry.event is not None
                and entry.event.event_type is EventType.STEP_EXPECTATION_RESULT
            ]
            assert expectations in ([], [dg.ExpectationResult(True, "took_branch_1")])
        assert outcomes <= {frozenset({"branch_1_op"}), frozenset({"branch_2_op"})}


# -- a graph from a dependency dict -------------------------------------------------------------
@dg.op
def return_one() -> int:
    return 1


@dg.op
def add_one(number: int) -> int:
    return number + 1


@dg.op
def adder(a: int, b: int) -> int:
    return a + b


def test_a_graph_built_from_a_dependency_dict() -> None:
    graph = dg.GraphDefinition(
        name="dependency_dict",
        node_defs=[return_one, add_one, adder],
        dependencies={
            "add_one": {"number": dg.DependencyDefinition("return_one")},
            dg.NodeInvocation("add_one", alias="add_one_2"): {
                "number": dg.DependencyDefinition("return_one")
            },
            "adder": {
                "a": dg.DependencyDefinition("add_one"),
                "b": dg.DependencyDefinition("add_one_2"),
            },
        },
    )
    result = graph.to_job().execute_in_process()
    assert result.output_for_node("adder") == 4
    assert {e.step_key for e in result.get_step_success_events()} == {
        "return_one",
        "add_one",
        "add_one_2",
        "adder",
    }
