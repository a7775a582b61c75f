"""Nothing inputs and outputs (ordering without data), and inputs loaded from run config through
their Dagster type's loader. Two examples follow the reference's documentation, in our words.
"""

from typing import Any

import pytest

import kubedag as dg


def test_a_nothing_input_orders_the_op_and_passes_no_value() -> None:
    order: list[str] = []

    @dg.op
    def first() -> None:
        order.append("first")

    @dg.op(out=dg.Out(dg.Nothing))
    def also_first() -> None:
        order.append("also_first")

    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def second() -> int:
        order.append("second")
        return 2

    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def third(n: int) -> int:
        return n + 1

    @dg.job
    def pipeline() -> None:
        third(second(start=[first(), also_first()]))

    result = pipeline.execute_in_process()
    assert order[-1] == "second" and set(order[:2]) == {"first", "also_first"}
    assert result.output_for_node("third") == 3
    assert "HANDLED_OUTPUT" not in [
        e.event_type.value for e in result.all_events if e.step_key == "also_first"
    ]
    assert pipeline.get_step("second").after == ("also_first", "first")


def test_a_nothing_input_left_unconnected_needs_nothing() -> None:
    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def alone() -> str:
        return "ran"

    @dg.job
    def pipeline() -> None:
        alone()

    assert pipeline.execute_in_process().output_for_node("alone") == "ran"


def test_a_failed_upstream_of_a_nothing_input_skips_the_op() -> None:
    @dg.op
    def breaks() -> None:
        raise ValueError("no")

    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def after() -> None:
        pass

    @dg.job
    def pipeline() -> None:
        after(start=breaks())

    result = pipeline.execute_in_process(raise_on_error=False)
    assert result.is_node_skipped("after")


def test_multi_outputs_of_type_nothing_are_not_stored() -> None:
    @dg.op(out={"done": dg.Out(dg.Nothing), "value": dg.Out(int)})
    def both():  # type: ignore[no-untyped-def]
        yield dg.Output(None, "done")
        yield dg.Output(3, "value")

    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def waits(value: int) -> int:
        return value * 2

    @dg.job
    def pipeline() -> None:
        done, value = both()
        waits(value, start=done)

    assert both.output_def("done").is_nothing
    assert pipeline.execute_in_process().output_for_node("waits") == 6


# -- inputs from run config --------------------------------------------------------------------


def test_built_in_types_load_an_unconnected_input_from_its_config_value() -> None:
    @dg.op
    def show(n: int, xs: list[int], s: dg.Optional[str], raw) -> list[Any]:  # type: ignore[no-untyped-def,valid-type]
        return [n, xs, s, raw]

    @dg.job
    def pipeline() -> None:
        show()

    def run(inputs: dict[str, Any]) -> Any:
        config = {"ops": {"show": {"inputs": inputs}}}
        return pipeline.execute_in_process(run_config=config).output_for_node("show")

    assert run({"n": 3, "xs": [1, 2], "s": None, "raw": {"value": 7}}) == [3, [1, 2], None, 7]
    assert run({"n": {"value": 4}, "xs": [{"value": 1}], "s": "q", "raw": 8}) == [4, [1], "q", 8]
    with pytest.raises(dg.InvalidConfigError, match=r"ops\.show\.inputs\.n: expected .*Int"):
        run({"n": "x", "xs": [], "s": None, "raw": 1})
    with pytest.raises(dg.InvalidConfigError, match=r"ops\.show\.inputs\.xs\[1\]"):
        run({"n": 1, "xs": [1, "a"], "s": None, "raw": 1})


def test_a_user_loader_builds_the_input_with_the_run_s_resources() -> None:
    seen: list[Any] = []

    @dg.dagster_type_loader(config_schema={"a": int, "b": str}, required_resource_keys={"prefix"})
    def load_pair(context: dg.DagsterTypeLoaderContext, config: dict[str, Any]) -> tuple[Any, ...]:
        seen.append(context)
        return (config["a"], context.resources.prefix + config["b"])

    Pair = dg.DagsterType(
        name="Pair", type_check_fn=lambda _c, value: isinstance(value, tuple), loader=load_pair
    )

    @dg.op
    def use(pair: Pair) -> Any:  # type: ignore[valid-type]
        return pair

    @dg.job(resource_defs={"prefix": dg.ResourceDefinition.hardcoded_resource(">")})
    def pipeline() -> None:
        use()

    assert use.required_resource_keys >= {"prefix"}
    config = {"ops": {"use": {"inputs": {"pair": {"a": 1, "b": "x"}}}}}
    result = pipeline.execute_in_process(run_config=config)
    assert result.output_for_node("use") == (1, ">x")
    (context,) = seen
    assert isinstance(context, dg.DagsterTypeLoaderContext)
    assert context.op_def is use and context.run_id == result.run_id
    context.log.info("a loader can log")
    with pytest.raises(dg.InvalidConfigError, match=r"ops\.use\.inputs\.pair\.a"):
        pipeline.execute_in_process(
            run_config={"ops": {"use": {"inputs": {"pair": {"a": "z", "b": "x"}}}}}
        )


def test_a_loader_that_raises_fails_the_step_with_the_user_s_error() -> None:
    @dg.dagster_type_loader(config_schema=str)
    def load(_context: Any, _config: str) -> Any:
        raise RuntimeError("cannot load")

    Loaded = dg.DagsterType(name="Loaded", type_check_fn=lambda _c, _v: True, loader=load)

    @dg.op
    def use(x: Loaded) -> None:  # type: ignore[valid-type]
        pass

    @dg.job
    def pipeline() -> None:
        use()

    result = pipeline.execute_in_process(
        run_config={"ops": {"use": {"inputs": {"x": "path"}}}}, raise_on_error=False
    )
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cause is not None and "cannot load" in error.cause.message


def test_a_loaded_input_is_type_checked_too() -> None:
    @dg.op
    def use(x: Any, y: dg.DagsterType(name="Small", type_check_fn=lambda _c, v: v < 10)) -> None:  # type: ignore[valid-type]
        pass

    @dg.job
    def pipeline() -> None:
        use()

    with pytest.raises(dg.DagsterTypeCheckDidNotPass, match='step input "y"'):
        pipeline.execute_in_process(run_config={"ops": {"use": {"inputs": {"x": 1, "y": 50}}}})


# -- examples in the manner of the reference's documentation ------------------------------------


def test_example_a_custom_type_guards_an_op_s_output() -> None:
    """A type for even numbers: a job whose op returns an odd number fails at that op."""

    def is_even(_context: dg.TypeCheckContext, value: object) -> bool:
        return isinstance(value, int) and value % 2 == 0

    EvenNumber = dg.DagsterType(name="EvenNumber", type_check_fn=is_even)

    @dg.op(ins={"num": dg.In(EvenNumber)}, out=dg.Out(EvenNumber))
    def double(num: int) -> int:
        return num * 2

    @dg.op
    def seven() -> int:
        return 7

    @dg.op
    def eight() -> int:
        return 8

    @dg.job
    def good() -> None:
        double(eight())

    @dg.job
    def bad() -> None:
        double(seven())

    assert good.execute_in_process().output_for_node("double") == 16
    outcome = bad.execute_in_process(raise_on_error=False)
    assert outcome.is_node_failed("double")
    with pytest.raises(dg.DagsterTypeCheckDidNotPass):
        bad.execute_in_process()


def test_example_nothing_dependencies_order_tables_created_in_a_database() -> None:
    """Two ops that write tables elsewhere: the second only needs the first to be done."""
    database: list[str] = []

    @dg.op
    def create_orders_table() -> None:
        database.append("orders")

    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def create_summary_table() -> None:
        assert "orders" in database
        database.append("summary")

    @dg.job
    def tables() -> None:
        create_summary_table(start=create_orders_table())

    assert tables.execute_in_process().success
    assert database == ["orders", "summary"]


def test_example_a_registered_class_is_checked_where_it_is_annotated() -> None:
    """A dataframe-like class made usable as a Dagster type with its own loader."""

    @dg.dagster_type_loader(config_schema={"rows": [int]})
    def table_from_config(_context: Any, config: dict[str, Any]) -> Any:
        return Table(config["rows"])

    @dg.usable_as_dagster_type(name="Table", loader=table_from_config)
    class Table:
        def __init__(self, rows: list[int]) -> None:
            self.rows = rows

    @dg.op
    def total(table: Table) -> int:
        return sum(table.rows)

    @dg.job
    def report() -> None:
        total()

    config = {"ops": {"total": {"inputs": {"table": {"rows": [1, 2, 3]}}}}}
    assert report.execute_in_process(run_config=config).output_for_node("total") == 6
    assert total.input_types["table"].display_name == "Table"


def test_run_config_cannot_give_a_nothing_input_a_value() -> None:
    @dg.op(ins={"start": dg.In(dg.Nothing)})
    def waits() -> None:
        pass

    @dg.job
    def pipeline() -> None:
        waits()

    with pytest.raises(dg.InvalidConfigError, match=r"ops\.waits\.inputs\.start: .*Nothing"):
        pipeline.execute_in_process(run_config={"ops": {"waits": {"inputs": {"start": 1}}}})
