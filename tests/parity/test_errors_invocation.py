"""Calling ops and assets directly: the reference's argument rules (checked against dagster
1.13.29), rule by rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import kubedag as dg


class Threshold(dg.Config):
    limit: int


class Warehouse(dg.ConfigurableResource):
    name: str


# Module level: with `from __future__ import annotations` a class defined inside a test cannot
# be resolved from a parameter's annotation.
class Api(dg.ConfigurableResource):
    base: str

    def fetch(self, path: str) -> str:
        return f"{self.base}/{path}"


class FetchConfig(dg.Config):
    path: str


# -- the context ---------------------------------------------------------------------------------
def test_the_context_comes_first_positionally_or_by_name() -> None:
    @dg.op
    def scale(context: dg.OpExecutionContext, x: int) -> int:
        assert isinstance(context, dg.OpExecutionContext)
        return x * 2

    assert scale(dg.build_op_context(), 3) == 6
    assert scale(context=dg.build_op_context(), x=4) == 8
    assert scale(None, 5) == 10  # None: a context is built for the call


def test_a_function_with_a_context_parameter_needs_a_context() -> None:
    @dg.asset
    def orders(context: dg.AssetExecutionContext) -> int:
        return 1

    @dg.op
    def scale(context: dg.OpExecutionContext, x: int) -> int:
        return x

    with pytest.raises(dg.DagsterInvalidInvocationError, match="no context was provided"):
        orders()
    with pytest.raises(dg.DagsterInvalidInvocationError, match="no context was provided"):
        scale(3)  # the first argument is not a context
    with pytest.raises(dg.DagsterInvalidInvocationError, match="no value for 'context'"):
        scale(ctx=dg.build_op_context(), x=1)


def test_a_context_given_to_a_function_without_one_is_not_passed_on() -> None:
    @dg.op
    def double(x: int) -> int:
        return x * 2

    assert double(dg.build_op_context(), 4) == 8
    with pytest.raises(dg.DagsterInvalidInvocationError, match="Too many input arguments"):
        double(context=dg.build_op_context(), x=1)


def test_the_context_is_bound_to_the_asset_for_the_call() -> None:
    @dg.asset
    def first(context: dg.AssetExecutionContext) -> str:
        return context.asset_key.to_user_string()

    @dg.asset(key_prefix=["sales"])
    def second(context: dg.AssetExecutionContext) -> str:
        return context.asset_key.to_user_string()

    context = dg.build_asset_context()
    assert first(context) == "first"
    assert second(context) == "sales/second"  # one context, used again


def test_a_context_cannot_run_two_calls_at_once() -> None:
    context = dg.build_op_context()

    @dg.op
    def inner(context: dg.OpExecutionContext) -> int:
        return 1

    @dg.op
    def outer(context: dg.OpExecutionContext) -> int:
        return inner(context)

    with pytest.raises(dg.DagsterInvalidInvocationError, match="currently being used"):
        outer(context)
    assert inner(context) == 1  # the failed call unbound it


def test_a_generator_keeps_its_context_while_it_is_iterated() -> None:
    @dg.asset
    def rows(context: dg.AssetExecutionContext) -> Iterator[dg.Output[str]]:
        yield dg.Output(context.asset_key.to_user_string())

    (output,) = list(rows(dg.build_asset_context()))
    assert output.value == "rows"


# -- config ----------------------------------------------------------------------------------
def test_config_as_a_dict_an_instance_or_from_the_context() -> None:
    @dg.op
    def limited(config: Threshold) -> int:
        return config.limit

    assert limited(config={"limit": 3}) == 3
    assert limited(config=Threshold(limit=4)) == 4
    assert limited(Threshold(limit=5)) == 5
    assert limited(dg.build_op_context(op_config={"limit": 6})) == 6


def test_config_in_both_the_context_and_the_call_is_refused() -> None:
    @dg.op
    def limited(context: dg.OpExecutionContext, config: Threshold) -> int:
        return config.limit

    with pytest.raises(dg.DagsterInvalidInvocationError, match="config in both"):
        limited(dg.build_op_context(op_config={"limit": 1}), config={"limit": 2})


def test_config_is_checked_against_its_schema() -> None:
    @dg.op
    def limited(config: Threshold) -> int:
        return config.limit

    with pytest.raises(dg.DagsterInvalidConfigError):
        limited(config={"limit": "many"})
    with pytest.raises(dg.DagsterInvalidConfigError):
        limited()


def test_config_for_a_legacy_schema_by_keyword() -> None:
    @dg.op(config_schema={"n": int})
    def legacy(context: dg.OpExecutionContext) -> int:
        return int(context.op_config["n"])

    assert legacy(dg.build_op_context(op_config={"n": 2})) == 2
    assert legacy(dg.build_op_context(), config={"n": 3}) == 3


# -- resources ---------------------------------------------------------------------------------
def test_resources_by_keyword_position_or_context() -> None:
    @dg.op
    def where(warehouse: Warehouse) -> str:
        return warehouse.name

    assert where(warehouse=Warehouse(name="kw")) == "kw"
    assert where(Warehouse(name="pos")) == "pos"
    assert where(dg.build_op_context(resources={"warehouse": Warehouse(name="ctx")})) == "ctx"


def test_resources_in_both_the_context_and_the_call_are_refused() -> None:
    @dg.op
    def where(context: dg.OpExecutionContext, warehouse: Warehouse) -> str:
        return warehouse.name

    context = dg.build_op_context(resources={"warehouse": Warehouse(name="ctx")})
    with pytest.raises(dg.DagsterInvalidInvocationError, match="resources in both"):
        where(context, warehouse=Warehouse(name="kw"))


def test_a_resource_given_to_the_call_is_on_the_context_too() -> None:
    @dg.op
    def where(context: dg.OpExecutionContext, warehouse: Warehouse) -> str:
        return str(context.resources.warehouse.name)

    assert where(dg.build_op_context(), warehouse=Warehouse(name="kw")) == "kw"


def test_a_missing_resource() -> None:
    @dg.op
    def where(warehouse: Warehouse) -> str:
        return warehouse.name

    @dg.op(required_resource_keys={"warehouse"})
    def legacy(context: dg.OpExecutionContext) -> str:
        return str(context.resources.warehouse.name)

    with pytest.raises(dg.DagsterInvalidInvocationError, match="needs resource 'warehouse'"):
        where()
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="'warehouse' required by op"):
        legacy(dg.build_op_context())
    context = dg.build_op_context(resources={"warehouse": Warehouse(name="ok")})
    assert legacy(context) == "ok"


# -- inputs ------------------------------------------------------------------------------------
def test_inputs_positionally_by_name_and_defaults() -> None:
    @dg.op
    def subtract(context: dg.OpExecutionContext, x: int, y: int = 1) -> int:
        return x - y

    assert subtract(dg.build_op_context(), 5, 2) == 3
    assert subtract(dg.build_op_context(), 5, y=3) == 2
    assert subtract(dg.build_op_context(), x=5) == 4


def test_wrong_numbers_of_inputs() -> None:
    @dg.op
    def pair(x: int, y: int) -> int:
        return x + y

    with pytest.raises(dg.DagsterInvalidInvocationError, match="Too many input arguments"):
        pair(1, 2, 3)
    with pytest.raises(dg.DagsterInvalidInvocationError, match='required input "y"'):
        pair(1)
    with pytest.raises(dg.DagsterInvalidInvocationError, match="multiple values for argument 'x'"):
        pair(1, x=2)


def test_unknown_keywords_are_ignored_when_the_count_fits_as_in_the_reference() -> None:
    @dg.op
    def add(x: int, y: int = 1) -> int:
        return x + y

    assert add(x=1, z=5) == 2


def test_inputs_collected_by_kwargs() -> None:
    @dg.op(ins={"a": dg.In(), "b": dg.In()})
    def gather(**kwargs: int) -> list[tuple[str, int]]:
        return sorted(kwargs.items())

    assert gather(a=1, b=2) == [("a", 1), ("b", 2)]
    assert gather(a=1) == [("a", 1)]


def test_an_upstream_asset_value_by_position_or_name() -> None:
    @dg.asset
    def orders() -> list[int]:
        return [1, 2]

    @dg.asset
    def order_count(orders: list[int]) -> int:
        return len(orders)

    assert order_count([1, 2, 3]) == 3
    assert order_count(orders=[1]) == 1


# -- building contexts ----------------------------------------------------------------------------
def test_build_op_context_refuses_config_twice() -> None:
    with pytest.raises(dg.DagsterInvalidInvocationError, match="op_config"):
        dg.build_op_context(op_config={"a": 1}, config={"a": 2})
    assert dg.build_op_context(config={"a": 2}).op_config == {"a": 2}


def test_build_op_context_partition_key() -> None:
    @dg.op
    def which(context: dg.OpExecutionContext) -> str:
        return str(context.partition_key)

    assert which(dg.build_op_context(partition_key="2024-01-01")) == "2024-01-01"


def test_build_asset_context_partition_and_config() -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu"])

    @dg.asset(partitions_def=regions)
    def sales(context: dg.AssetExecutionContext, config: Threshold) -> str:
        return f"{context.partition_key}:{config.limit}"

    context = dg.build_asset_context(partition_key="eu", asset_config={"limit": 7})
    assert sales(context) == "eu:7"


# -- ported from the reference's testing guide (rewritten) ------------------------------------
def test_example_testing_an_asset_with_a_resource_and_config() -> None:
    @dg.asset
    def fetched(context: dg.AssetExecutionContext, config: FetchConfig, api: Api) -> str:
        context.log.info("fetching")
        return api.fetch(config.path)

    context = dg.build_asset_context()
    assert fetched(context, FetchConfig(path="users"), Api(base="http://x")) == "http://x/users"
    assert fetched(context=context, config={"path": "a"}, api=Api(base="b")) == "b/a"


def test_example_testing_an_op_that_yields_outputs() -> None:
    @dg.op(out={"evens": dg.Out(), "odds": dg.Out()})
    def split(numbers: list[int]) -> Iterator[dg.Output[list[int]]]:
        yield dg.Output([n for n in numbers if n % 2 == 0], "evens")
        yield dg.Output([n for n in numbers if n % 2], "odds")

    outputs = {o.output_name: o.value for o in split([1, 2, 3, 4])}
    assert outputs == {"evens": [2, 4], "odds": [1, 3]}


def test_resources_config_in_the_reference_shape() -> None:
    @dg.resource(config_schema={"v": int})
    def number(init_context: dg.InitResourceContext) -> int:
        return int(init_context.resource_config["v"])

    @dg.op(required_resource_keys={"number"})
    def read(context: dg.OpExecutionContext) -> int:
        return int(context.resources.number)

    nested = dg.build_op_context(
        resources={"number": number}, resources_config={"number": {"config": {"v": 4}}}
    )
    assert read(nested) == 4


def test_calling_a_graph_outside_a_composition_is_an_invariant_violation() -> None:
    @dg.op
    def one() -> int:
        return 1

    @dg.graph
    def wrapper() -> None:
        one()

    with pytest.raises(dg.DagsterInvariantViolationError, match="wrapper"):
        wrapper()
