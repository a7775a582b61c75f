"""Assets and ops are plain functions in tests: call them with values, config and resources."""

from unittest import mock

import pytest

import kubedag as dg


class PathConfig(dg.Config):
    path: str


class Store(dg.ConfigurableResource):
    prefix: str

    def read(self, name: str) -> str:
        return f"{self.prefix}:{name}"


@dg.asset
def cleaned(raw: str) -> str:
    return raw.strip()


@dg.asset
def configured(config: PathConfig) -> str:
    return config.path


@dg.asset
def with_context(context: dg.AssetExecutionContext, raw: str) -> str:
    context.log.info("called directly")
    return f"{context.partition_key}:{raw}"


@dg.asset
def reads(store: Store) -> str:
    return store.read("orders")


def test_upstream_values_as_arguments() -> None:
    assert cleaned(" x ") == "x"
    assert cleaned(raw=" y ") == "y"


def test_config_object_positionally_or_from_context() -> None:
    assert configured(PathConfig(path="a.txt")) == "a.txt"
    assert configured(dg.build_asset_context(asset_config={"path": "b.txt"})) == "b.txt"
    with pytest.raises(dg.InvalidConfigError, match="path: required"):
        configured()


def test_context_with_partition_key() -> None:
    context = dg.build_asset_context(partition_key="2024-08-16")
    assert with_context(context, "v") == "2024-08-16:v"


def test_resource_by_keyword_positionally_or_from_context() -> None:
    assert reads(store=Store(prefix="kw")) == "kw:orders"
    assert reads(Store(prefix="pos")) == "pos:orders"
    assert reads(dg.build_asset_context(resources={"store": Store(prefix="ctx")})) == "ctx:orders"
    fake = mock.Mock(spec=Store)
    fake.read.return_value = "mocked"
    assert reads(fake) == "mocked"
    with pytest.raises(dg.InvalidInvocationError, match="needs resource 'store'"):
        reads()


def test_wrong_arguments_are_reported() -> None:
    # The reference's rules and messages: an unknown keyword counts as an argument, and is
    # reported as too many arguments or as the input still missing.
    with pytest.raises(
        dg.InvalidInvocationError, match='No value provided for required input "raw"'
    ):
        cleaned()
    with pytest.raises(dg.InvalidInvocationError, match='required input "raw"'):
        cleaned(other=1)
    with pytest.raises(dg.InvalidInvocationError, match="Too many input arguments"):
        cleaned("x", "y")
    assert (
        cleaned(dg.build_asset_context(), " x ") == "x"
    )  # a context is accepted and not passed on


def test_context_without_partition_explains() -> None:
    with pytest.raises(AttributeError, match="not partitioned"):
        with_context(dg.build_asset_context(), "x")


def test_multi_asset_direct_call_returns_its_results() -> None:
    @dg.multi_asset(specs=[dg.AssetSpec("asset_one"), dg.AssetSpec("asset_two")])
    def my_multi_asset():  # type: ignore[no-untyped-def]
        yield dg.MaterializeResult(asset_key="asset_one", metadata={"num_rows": 10})
        yield dg.MaterializeResult(asset_key="asset_two", metadata={"num_rows": 24})

    results = list(my_multi_asset())
    assert [r.asset_key for r in results] == [dg.AssetKey("asset_one"), dg.AssetKey("asset_two")]


def test_ops_are_callable_too() -> None:
    @dg.op
    def double(context: dg.OpExecutionContext, value: int) -> int:
        return value * int(context.op_config["factor"])

    assert double(dg.build_op_context(op_config={"factor": 3}), 2) == 6


def test_build_context_tears_resources_down_on_exit() -> None:
    log: list[str] = []

    @dg.resource
    def tracked(_context: dg.InitResourceContext):  # type: ignore[no-untyped-def]
        yield "value"
        log.append("closed")

    with dg.build_asset_context(resources={"tracked": tracked}) as context:
        assert context.resources.tracked == "value"
    assert log == ["closed"]
