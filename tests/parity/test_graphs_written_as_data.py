"""Graphs written as data (`GraphDefinition(node_defs=…, dependencies=…)`), `@graph(ins=…,
out=…)` with `GraphIn` / `GraphOut`, input and output mappings, and pending invocations
(`op.alias(…)`, `op.tag(…)`), compared with what the reference does."""

import pytest

import kubedag as dg
from kubedag.errors import InvalidDefinitionError


@dg.op
def emit() -> int:
    return 3


@dg.op
def add_one(x: int) -> int:
    return x + 1


@dg.op
def total(xs: list[int]) -> int:
    return sum(xs)


def test_a_dependency_dict_wires_aliased_nodes_and_a_fan_in() -> None:
    graph = dg.GraphDefinition(
        name="manual",
        node_defs=[emit, add_one, total],
        dependencies={
            # Listed downstream first: the graph orders its nodes by their dependencies.
            "total": {
                "xs": dg.MultiDependencyDefinition(
                    [dg.DependencyDefinition("a1"), dg.DependencyDefinition("a2")]
                )
            },
            dg.NodeInvocation("add_one", alias="a2"): {"x": dg.DependencyDefinition("a1")},
            dg.NodeInvocation("add_one", alias="a1"): {
                "x": dg.DependencyDefinition("emit", "result")
            },
        },
        output_mappings=[dg.OutputMapping("out", "total", "result")],
    )
    result = graph.to_job().execute_in_process()
    assert result.success
    # emit=3, a1=4, a2=5, total=9; add_one is only used under its aliases.
    assert result.output_for_node("a1") == 4
    assert result.output_for_node("total") == 9
    assert result.output_value("out") == 9
    assert sorted(e.step_key for e in result.get_step_success_events()) == [
        "a1",
        "a2",
        "emit",
        "total",
    ]


def test_dependency_definitions_read_like_the_reference() -> None:
    dep = dg.DependencyDefinition("a")
    assert dep == dg.DependencyDefinition(node="a", output="result", description=None)
    assert not dep.is_fan_in()
    assert dg.MultiDependencyDefinition([dep]).is_fan_in()
    invocation = dg.NodeInvocation("x", alias="y", tags={"k": "v"})
    assert (invocation.name, invocation.alias, invocation.tags) == ("x", "y", {"k": "v"})
    assert {invocation: 1}[dg.NodeInvocation("x", alias="y", tags={"k": "v"})] == 1


def test_invocation_tags_and_retry_policy_reach_the_step() -> None:
    graph = dg.GraphDefinition(
        name="tagged",
        node_defs=[emit],
        dependencies={
            dg.NodeInvocation(
                "emit", alias="e", tags={"team": "data"}, retry_policy=dg.RetryPolicy(max_retries=2)
            ): {}
        },
    )
    step = graph.to_job().get_step("e")
    assert step.tags["team"] == "data"
    assert step.retry_policy is not None and step.retry_policy.max_retries == 2


@pytest.mark.parametrize(
    ("dependencies", "message"),
    [
        (
            {"add_one": {"x": dg.DependencyDefinition("nope")}},
            'node "nope" not found in node list. Listed as dependency for node "add_one" input "x"',
        ),
        (
            {"nope": {"x": dg.DependencyDefinition("add_one")}},
            'node "nope" in dependency dictionary not found in node list',
        ),
        (
            {"add_one": {"y": dg.DependencyDefinition("add_one")}},
            'circular reference detected in node "add_one" input "y"',
        ),
        (
            {"add_one": {"y": dg.DependencyDefinition("emit")}},
            'node "add_one" does not have input "y"',
        ),
        (
            {"add_one": {"x": dg.DependencyDefinition("emit", "other")}},
            'node "emit" does not have output "other"',
        ),
    ],
)
def test_wrong_dependencies_are_invalid_definitions(dependencies: object, message: str) -> None:
    with pytest.raises(InvalidDefinitionError, match="Invalid dependencies") as info:
        dg.GraphDefinition(name="bad", node_defs=[emit, add_one], dependencies=dependencies)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_a_cycle_between_two_nodes_is_refused() -> None:
    with pytest.raises(InvalidDefinitionError, match="circular reference"):
        dg.GraphDefinition(
            name="cycle",
            node_defs=[add_one],
            dependencies={
                dg.NodeInvocation("add_one", "a"): {"x": dg.DependencyDefinition("b")},
                dg.NodeInvocation("add_one", "b"): {"x": dg.DependencyDefinition("a")},
            },
        )


def test_input_and_output_mappings_make_graph_inputs_and_outputs() -> None:
    graph = dg.GraphDefinition(
        name="mapped",
        node_defs=[add_one],
        input_mappings=[
            dg.InputMapping(
                graph_input_name="inp", mapped_node_name="add_one", mapped_node_input_name="x"
            )
        ],
        output_mappings=[dg.OutputMapping("o", "add_one", "result")],
    )
    assert [m.graph_input_name for m in graph.input_mappings] == ["inp"]
    assert graph.output_mappings == [dg.OutputMapping("o", "add_one", "result")]
    assert graph.execute_in_process(input_values={"inp": 5}).output_value("o") == 6


def test_graph_in_and_graph_out_name_and_describe_a_decorated_graph() -> None:
    @dg.graph(ins={"x": dg.GraphIn(description="in x")}, out={"y": dg.GraphOut(description="out")})
    def inner(x: int) -> object:
        return add_one(x)

    assert (
        inner.input_mappings == [dg.InputMapping("x", "add_one", "x", None, "in x")]
        or inner.input_mappings[0].graph_input_description == "in x"
    )
    assert [o.name for o in inner.output_defs] == ["y"]
    assert inner.output_defs[0].description == "out"
    assert inner.input_defs[0].description == "in x"

    @dg.job
    def outer() -> None:
        inner(emit())

    assert outer.execute_in_process().output_for_node("inner", "y") == 4


def test_graph_out_mapping_by_position_and_unmapped_outputs() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def two() -> tuple[int, int]:
        return 1, 2

    @dg.graph(out={"p": dg.GraphOut(), "q": dg.GraphOut()})
    def both() -> object:
        a, b = two()
        return a, b

    assert [o.name for o in both.output_defs] == ["p", "q"]
    assert both.execute_in_process().output_value("q") == 2

    with pytest.raises(InvalidDefinitionError, match="unmapped output 'q'"):

        @dg.graph(out={"p": dg.GraphOut(), "q": dg.GraphOut()})
        def half() -> object:
            return {"p": emit()}


def test_alias_and_tag_return_pending_node_invocations() -> None:
    aliased = add_one.alias("plus")
    assert isinstance(aliased, dg.PendingNodeInvocation)
    assert isinstance(add_one.tag({"a": "b"}), dg.PendingNodeInvocation)
    assert aliased.node_def is add_one

    @dg.job
    def uses() -> None:
        add_one.alias("plus").tag({"team": "x"})(emit())

    result = uses.execute_in_process()
    assert result.output_for_node("plus") == 4
    assert uses.get_step("plus").tags["team"] == "x"


def test_a_pending_graph_invocation_becomes_a_job_named_by_its_alias() -> None:
    @dg.graph
    def small() -> object:
        return add_one(emit())

    job = small.alias("renamed").to_job()
    assert job.name == "renamed"
    assert small.alias("again").execute_in_process().output_value() == 4
