"""Examples from the reference's documentation, rewritten, run end to end."""

from __future__ import annotations

from typing import Any

import pytest

import kubedag as dg


class FakeDatabase:
    """Stands in for a database client: a table per asset, guarded by a password."""

    tables: dict[str, Any] = {}

    def __init__(self, username: str, password: str) -> None:
        if password != "s3cret":
            raise PermissionError(f"wrong password for {username}")
        self.username = username


class TableIOManager(dg.IOManager):
    def __init__(self, connection: FakeDatabase) -> None:
        self.connection = connection

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        FakeDatabase.tables[context.asset_key.to_user_string()] = (self.connection.username, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        return FakeDatabase.tables[context.asset_key.to_user_string()][1]


class TableIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """The reference's ConfigurableIOManagerFactory example: config fields (one from the
    environment) become a connection, and the connection an I/O manager."""

    username: str
    password: str

    def create_io_manager(self, context: dg.InitResourceContext) -> TableIOManager:
        return TableIOManager(FakeDatabase(self.username, self.password))


def test_io_manager_factory_with_an_env_var_password(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDatabase.tables = {}
    monkeypatch.setenv("DB_PASSWORD", "s3cret")

    @dg.asset
    def customers() -> list[str]:
        return ["ada", "grace"]

    @dg.asset
    def customer_count(customers: list[str]) -> int:
        return len(customers)

    defs = dg.Definitions(
        assets=[customers, customer_count],
        resources={
            "io_manager": TableIOManagerFactory(
                username="kubedag", password=dg.EnvVar("DB_PASSWORD")
            )
        },
    )
    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert result.success
    assert FakeDatabase.tables == {
        "customers": ("kubedag", ["ada", "grace"]),
        "customer_count": ("kubedag", 2),
    }

    monkeypatch.setenv("DB_PASSWORD", "wrong")
    with pytest.raises(dg.DagsterResourceFunctionError, match="io_manager") as info:
        defs.get_implicit_global_asset_job_def().execute_in_process()
    assert isinstance(info.value.__cause__, PermissionError)


def test_with_resources_example_two_assets_share_a_configured_resource() -> None:
    """The reference's with_resources example: a function-style resource (taking no context)
    configured once through resource_config_by_key, bound to two assets."""
    created: list[str] = []

    @dg.resource(config_schema={"bar": str})
    def foo_resource() -> str:
        created.append("foo")
        return "foo-client"

    @dg.asset(required_resource_keys={"foo"})
    def asset1(context: dg.AssetExecutionContext) -> str:
        return f"asset1 with {context.resources.foo}"

    @dg.asset(required_resource_keys={"foo"})
    def asset2(context: dg.AssetExecutionContext) -> str:
        return f"asset2 with {context.resources.foo}"

    asset1_with_foo, asset2_with_foo = dg.with_resources(
        [asset1, asset2],
        resource_defs={"foo": foo_resource},
        resource_config_by_key={"foo": {"config": {"bar": "baz"}}},
    )
    result = dg.materialize([asset1_with_foo, asset2_with_foo])
    assert result.output_for_node("asset1") == "asset1 with foo-client"
    assert result.output_for_node("asset2") == "asset2 with foo-client"
    assert created == ["foo"]  # one resource for the run
    with pytest.raises(dg.InvalidDefinitionError, match="foo"):
        dg.materialize([asset1])  # the original is unchanged: nothing binds foo
