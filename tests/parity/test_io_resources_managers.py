"""Function-style I/O managers and input managers, as the reference declares them.

`@io_manager` / `IOManagerDefinition` build an `IOManager` from the init context;
`@input_manager` / `InputManager` / `InputManagerDefinition` load inputs named by
`In(input_manager_key=…)` or `AssetIn(input_manager_key=…)`, also inputs that nothing feeds.
"""

from __future__ import annotations

from typing import Any

import pytest

import kubedag as dg


class DictIOManager(dg.IOManager):
    """Stores outputs in a dict shared with the test, keyed by asset path or output name."""

    def __init__(self, store: dict[str, Any], prefix: str = "") -> None:
        self.store = store
        self.prefix = prefix

    def _key(self, context: Any) -> str:
        if context.has_asset_key:
            return self.prefix + "/".join(context.asset_key.path)
        return self.prefix + context.name

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self.store[self._key(context)] = obj

    def load_input(self, context: dg.InputContext) -> Any:
        assert context.upstream_output is not None
        return self.store[self._key(context.upstream_output)]


def test_io_manager_decorator_gets_its_config_and_required_resources() -> None:
    store: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    @dg.io_manager(config_schema={"prefix": str}, required_resource_keys={"bucket"})
    def dict_io_manager(init_context: dg.InitResourceContext) -> DictIOManager:
        seen["config"] = init_context.resource_config
        seen["bucket"] = init_context.resources.bucket
        return DictIOManager(store, init_context.resource_config["prefix"])

    @dg.asset(io_manager_key="dict_io")
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.asset(io_manager_key="dict_io")
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    assert isinstance(dict_io_manager, dg.IOManagerDefinition)
    assert isinstance(dict_io_manager, dg.ResourceDefinition)
    assert dict_io_manager.required_resource_keys == {"bucket"}
    result = dg.materialize(
        [numbers, total],
        resources={
            "dict_io": dict_io_manager.configured({"prefix": "p/"}),
            "bucket": dg.ResourceDefinition.hardcoded_resource("my-bucket"),
        },
    )
    assert result.success
    assert store == {"p/numbers": [1, 2, 3], "p/total": 6}
    assert seen == {"config": {"prefix": "p/"}, "bucket": "my-bucket"}


def test_io_manager_definition_built_directly_and_hardcoded() -> None:
    store: dict[str, Any] = {}
    direct = dg.IOManagerDefinition(lambda _ctx: DictIOManager(store, "direct/"))
    hardcoded = dg.IOManagerDefinition.hardcoded_io_manager(DictIOManager(store, "fixed/"))

    @dg.asset(io_manager_key="a_io")
    def a() -> int:
        return 1

    @dg.asset(io_manager_key="b_io")
    def b(a: int) -> int:
        return a + 1

    assert dg.materialize([a, b], resources={"a_io": direct, "b_io": hardcoded}).success
    assert store == {"direct/a": 1, "fixed/b": 2}


def test_io_manager_in_run_config_is_given_its_config() -> None:
    store: dict[str, Any] = {}

    @dg.io_manager(config_schema={"prefix": str})
    def configurable(init_context: dg.InitResourceContext) -> DictIOManager:
        return DictIOManager(store, init_context.resource_config["prefix"])

    @dg.asset
    def thing() -> str:
        return "x"

    result = dg.materialize(
        [thing],
        resources={"io_manager": configurable},
        run_config={"resources": {"io_manager": {"config": {"prefix": "cfg/"}}}},
    )
    assert result.success
    assert store == {"cfg/thing": "x"}


def test_input_manager_loads_an_op_input_that_nothing_feeds() -> None:
    contexts: list[Any] = []

    @dg.input_manager
    def table_loader(context: dg.InputContext) -> list[str]:
        contexts.append(context)
        return ["row-1", "row-2"]

    @dg.op(ins={"rows": dg.In(input_manager_key="tables")})
    def count_rows(rows: list[str]) -> int:
        return len(rows)

    @dg.job(resource_defs={"tables": table_loader})
    def count_job() -> None:
        count_rows()

    assert isinstance(table_loader, dg.InputManagerDefinition)
    result = count_job.execute_in_process()
    assert result.success
    assert result.output_for_node("count_rows") == 2
    (context,) = contexts
    assert context.upstream_output is None
    assert context.name == "rows"


def test_input_manager_replaces_the_upstream_io_manager_for_one_input() -> None:
    @dg.input_manager
    def doubled_loader(context: dg.InputContext) -> int:
        assert context.upstream_output is not None
        assert context.upstream_output.name == "result"
        return 100

    @dg.op
    def produce() -> int:
        return 1

    @dg.op(ins={"plain": dg.In(), "managed": dg.In(input_manager_key="loader")})
    def combine(plain: int, managed: int) -> list[int]:
        return [plain, managed]

    @dg.job(resource_defs={"loader": doubled_loader})
    def combine_job() -> None:
        value = produce()
        combine(value, value)

    result = combine_job.execute_in_process()
    assert result.output_for_node("combine") == [1, 100]
    loaded = [e for e in result.all_events if e.event_type_value == "LOADED_INPUT"]
    assert any("loader" in e.message for e in loaded)


def test_input_manager_function_may_return_an_input_manager() -> None:
    class Constant(dg.InputManager):
        def load_input(self, context: Any) -> int:
            return 7

    @dg.input_manager
    def constant_factory(_context: Any) -> Constant:
        return Constant()

    @dg.op(ins={"x": dg.In(input_manager_key="constant")})
    def echo(x: int) -> int:
        return x

    @dg.job(resource_defs={"constant": constant_factory})
    def echo_job() -> None:
        echo()

    assert echo_job.execute_in_process().output_for_node("echo") == 7


def test_input_manager_definition_with_config_and_class_style_manager() -> None:
    class Offset(dg.InputManager):
        def __init__(self, offset: int) -> None:
            self.offset = offset

        def load_input(self, context: Any) -> int:
            return self.offset

    definition = dg.InputManagerDefinition(
        lambda init: Offset(init.resource_config["offset"]), config_schema={"offset": int}
    )

    @dg.op(ins={"x": dg.In(input_manager_key="offset")})
    def plus_one(x: int) -> int:
        return x + 1

    @dg.job(resource_defs={"offset": definition.configured({"offset": 41})})
    def offset_job() -> None:
        plus_one()

    assert offset_job.execute_in_process().output_for_node("plus_one") == 42


def test_asset_in_input_manager_key_loads_the_upstream_asset_its_own_way() -> None:
    """An external asset (nothing here stores it) read through an input manager: the
    upstream's I/O manager key need not even be bound."""
    raw = dg.AssetSpec("raw_events")

    @dg.input_manager
    def events_loader(context: dg.InputContext) -> list[str]:
        return [f"event from {context.asset_key.to_user_string()}"]

    @dg.asset(ins={"events": dg.AssetIn(key="raw_events", input_manager_key="events_in")})
    def event_count(events: list[str]) -> list[str]:
        return events

    defs = dg.Definitions(assets=[raw, event_count], resources={"events_in": events_loader})
    result = defs.get_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey("event_count")]
    )
    assert result.success
    assert result.output_for_node("event_count") == ["event from raw_events"]


def test_an_unbound_input_manager_key_fails_when_the_definitions_load() -> None:
    @dg.op(ins={"x": dg.In(input_manager_key="nowhere")})
    def needs_loader(x: int) -> int:
        return x

    @dg.job
    def loader_job() -> None:
        needs_loader()

    with pytest.raises(dg.InvalidDefinitionError, match="nowhere"):
        dg.Definitions(jobs=[loader_job])


def test_every_io_manager_is_an_input_manager() -> None:
    assert issubclass(dg.IOManager, dg.InputManager)
    assert issubclass(dg.FilesystemIOManager, dg.InputManager)
