"""Testing I/O managers directly (`build_output_context`, `build_input_context`), the resource
errors of the reference, `ResourceDefinition`'s ready-made resources and
`IAttachDifferentObjectToOpContext`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


def test_build_output_and_input_context_round_trip_through_an_io_manager(tmp_path: Path) -> None:
    manager = dg.FilesystemIOManager(base_dir=str(tmp_path))
    out = dg.build_output_context(asset_key=["sales", "daily"], name="result")
    manager.handle_output(out, {"total": 3})
    assert (tmp_path / "sales" / "daily").is_file()

    loaded = manager.load_input(dg.build_input_context(upstream_output=out))
    assert loaded == {"total": 3}
    # Without an upstream output, a manager that reads by asset key loads the input's asset.
    assert manager.load_input(dg.build_input_context(asset_key=["sales", "daily"])) == {"total": 3}


def test_build_output_context_fields() -> None:
    context = dg.build_output_context(
        asset_key="orders",
        partition_key="2024-01-01",
        name="out",
        definition_metadata={"owner": "team"},
        config={"compression": "gzip"},
        resources={"bucket": "b-1"},
    )
    assert context.asset_key == dg.AssetKey("orders")
    assert context.partition_key == "2024-01-01"
    assert context.name == "out"
    assert context.definition_metadata == {"owner": "team"}
    assert context.config == {"compression": "gzip"}
    assert context.resources.bucket == "b-1"
    assert context.get_asset_identifier() == ["orders", "2024-01-01"]
    op_output = dg.build_output_context(step_key="s", name="result")
    assert not op_output.has_asset_key
    assert op_output.get_identifier()[1:] == ["s", "result"]
    with pytest.raises(AttributeError):
        op_output.partition_key  # noqa: B018


def test_build_input_context_partitions(tmp_path: Path) -> None:
    colors = dg.StaticPartitionsDefinition(["red", "green", "blue"])
    manager = dg.FilesystemIOManager(base_dir=str(tmp_path))
    for color in colors.get_partition_keys():
        manager.handle_output(
            dg.build_output_context(
                asset_key="paint", partition_key=color, asset_partitions_def=colors
            ),
            color.upper(),
        )
    one = dg.build_input_context(
        asset_key="paint", partition_key="green", asset_partitions_def=colors
    )
    assert one.has_partition_key and one.asset_partition_key == "green"
    assert manager.load_input(one) == "GREEN"
    several = dg.build_input_context(
        asset_key="paint",
        asset_partition_key_range=dg.PartitionKeyRange("red", "green"),
        asset_partitions_def=colors,
    )
    assert manager.load_input(several) == {"red": "RED", "green": "GREEN"}


def test_context_resources_are_initialized_and_torn_down_in_a_with_block() -> None:
    events: list[str] = []

    @dg.resource
    def connection(_init: Any) -> Any:
        events.append("open")
        yield "conn"
        events.append("close")

    with dg.build_output_context(asset_key="a", resources={"conn": connection}) as context:
        assert context.resources.conn == "conn"
        assert events == ["open"]
    assert events == ["open", "close"]


def test_unknown_resource_error_is_raised_for_an_undeclared_resource() -> None:
    @dg.op(required_resource_keys={"known"})
    def reads_unknown(context: dg.OpExecutionContext) -> Any:
        assert hasattr(context.resources, "known")
        assert not hasattr(context.resources, "missing")
        return context.resources.missing

    @dg.job(resource_defs={"known": dg.ResourceDefinition.hardcoded_resource(1)})
    def unknown_job() -> None:
        reads_unknown()

    with pytest.raises(dg.DagsterUnknownResourceError, match="Unknown resource `missing`") as info:
        unknown_job.execute_in_process()
    assert isinstance(info.value, AttributeError)
    assert isinstance(info.value, dg.KubedagError)


def test_resource_function_error_wraps_what_the_resource_raised() -> None:
    @dg.resource
    def broken(_init: Any) -> Any:
        raise ConnectionError("database is down")

    @dg.op(required_resource_keys={"db"})
    def uses_db(context: dg.OpExecutionContext) -> None:
        pass

    @dg.job(resource_defs={"db": broken})
    def db_job() -> None:
        uses_db()

    with pytest.raises(dg.DagsterResourceFunctionError) as info:
        db_job.execute_in_process()
    assert isinstance(info.value.__cause__, ConnectionError)
    assert dg.DagsterResourceFunctionError is dg.ResourceInitError
    result = db_job.execute_in_process(raise_on_error=False)
    assert not result.success


def test_ready_made_resources() -> None:
    with dg.build_resources(
        {
            "mock": dg.ResourceDefinition.mock_resource(),
            "text": dg.ResourceDefinition.string_resource(),
            "nothing": dg.ResourceDefinition.none_resource(),
            "fixed": dg.ResourceDefinition.hardcoded_resource({"k": 1}),
        },
        resource_config={"text": {"config": "hello"}},
    ) as resources:
        resources.mock.anything(1).works.assert_not_called()
        resources.mock.called_with(2)
        resources.mock.called_with.assert_called_once_with(2)
        assert resources.text == "hello"
        assert resources.nothing is None
        assert resources.fixed == {"k": 1}


def test_string_resource_takes_its_value_from_run_config() -> None:
    @dg.op(required_resource_keys={"greeting"})
    def greet(context: dg.OpExecutionContext) -> str:
        return str(context.resources.greeting)

    @dg.job(resource_defs={"greeting": dg.ResourceDefinition.string_resource()})
    def greet_job() -> None:
        greet()

    result = greet_job.execute_in_process(
        run_config={"resources": {"greeting": {"config": "hi there"}}}
    )
    assert result.output_for_node("greet") == "hi there"


class TokenResource(dg.ConfigurableResource, dg.IAttachDifferentObjectToOpContext):
    token: str

    def get_object_to_set_on_execution_context(self) -> str:
        return self.token


def test_attach_different_object_to_op_context() -> None:
    @dg.asset(required_resource_keys={"token"})
    def old_style(context: dg.AssetExecutionContext) -> str:
        return context.resources.token  # type: ignore[no-any-return]

    @dg.asset
    def new_style(token: TokenResource) -> str:
        assert isinstance(token, TokenResource)
        return token.token.upper()

    result = dg.materialize([old_style, new_style], resources={"token": TokenResource(token="abc")})
    assert result.output_for_node("old_style") == "abc"
    assert result.output_for_node("new_style") == "ABC"
