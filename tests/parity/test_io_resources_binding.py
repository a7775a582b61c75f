"""Class-style I/O manager factories, `custom_path_fs_io_manager`, `with_resources`,
`BindResourcesToJobs` and `ResourceDependency`."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


class ListIOManager(dg.IOManager):
    """Not a pydantic model: built by a factory, keeps values in a dict it was given."""

    def __init__(self, store: dict[str, Any], tag: str) -> None:
        self.store = store
        self.tag = tag

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self.store[context.asset_key.to_user_string()] = (self.tag, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        return self.store[context.asset_key.to_user_string()][1]


STORE: dict[str, Any] = {}
EVENTS: list[str] = []


class ListIOManagerFactory(dg.ConfigurableIOManagerFactory):
    tag: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        EVENTS.append(f"setup {self.tag}")

    def create_io_manager(self, context: dg.InitResourceContext) -> ListIOManager:
        return ListIOManager(STORE, self.tag)


@dg.io_manager(config_schema={"tag": str})
def legacy_list_io_manager(init_context: dg.InitResourceContext) -> ListIOManager:
    return ListIOManager(STORE, "legacy:" + init_context.resource_config["tag"])


class LegacyListIOManager(dg.ConfigurableLegacyIOManagerAdapter):
    tag: str

    @property
    def wrapped_io_manager(self) -> dg.IOManagerDefinition:
        return legacy_list_io_manager


@dg.asset
def first() -> int:
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


def test_configurable_io_manager_factory_builds_the_manager_from_its_fields() -> None:
    STORE.clear()
    EVENTS.clear()
    result = dg.materialize(
        [first, second], resources={"io_manager": ListIOManagerFactory(tag="t1")}
    )
    assert result.success
    assert STORE == {"first": ("t1", 1), "second": ("t1", 2)}
    assert EVENTS == ["setup t1"]
    with pytest.raises(TypeError):
        dg.ConfigurableIOManagerFactory()  # type: ignore[abstract]


def test_factory_config_can_come_from_run_config_at_launch() -> None:
    STORE.clear()
    result = dg.materialize(
        [first],
        resources={"io_manager": ListIOManagerFactory.configure_at_launch()},
        run_config={"resources": {"io_manager": {"config": {"tag": "launch"}}}},
    )
    assert result.success
    assert STORE == {"first": ("launch", 1)}


def test_legacy_adapter_hands_its_fields_to_the_wrapped_function() -> None:
    STORE.clear()
    assert dg.materialize(
        [first, second], resources={"io_manager": LegacyListIOManager(tag="x")}
    ).success
    assert STORE == {"first": ("legacy:x", 1), "second": ("legacy:x", 2)}


def test_custom_path_fs_io_manager_uses_each_outputs_path_metadata(tmp_path: Path) -> None:
    @dg.op(out=dg.Out(metadata={"path": "samples/first.pkl"}))
    def sample() -> list[int]:
        return [1, 2, 3]

    @dg.op(out=dg.Out(metadata={"path": "samples/total.pkl"}))
    def total(values: list[int]) -> int:
        return sum(values)

    manager = dg.custom_path_fs_io_manager.configured({"base_dir": str(tmp_path)})

    @dg.job(resource_defs={"io_manager": manager})
    def sample_job() -> None:
        total(sample())

    result = sample_job.execute_in_process()
    assert result.output_for_node("total") == 6
    assert pickle.loads((tmp_path / "samples" / "first.pkl").read_bytes()) == [1, 2, 3]
    assert pickle.loads((tmp_path / "samples" / "total.pkl").read_bytes()) == 6
    assert isinstance(dg.custom_path_fs_io_manager, dg.IOManagerDefinition)


def test_custom_path_fs_io_manager_needs_a_path(tmp_path: Path) -> None:
    @dg.op
    def no_path() -> int:
        return 1

    manager = dg.custom_path_fs_io_manager.configured({"base_dir": str(tmp_path)})

    @dg.job(resource_defs={"io_manager": manager})
    def no_path_job() -> None:
        no_path()

    result = no_path_job.execute_in_process(raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message  # type: ignore[union-attr]
    assert "has no 'path' in its metadata" in message


def test_with_resources_binds_resources_to_copies_of_the_assets() -> None:
    STORE.clear()

    @dg.asset(required_resource_keys={"greeting"})
    def greeting_length(context: dg.AssetExecutionContext) -> int:
        return len(context.resources.greeting)

    bound = dg.with_resources(
        [first, greeting_length],
        {
            "io_manager": ListIOManagerFactory(tag="bound"),
            "greeting": dg.ResourceDefinition.string_resource(),
        },
        resource_config_by_key={"greeting": {"config": "hello"}},
    )
    assert [a.key for a in bound] == [first.key, greeting_length.key]  # type: ignore[attr-defined]
    assert greeting_length.resource_defs == {}
    defs = dg.Definitions(assets=bound)
    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert result.success
    assert STORE == {"first": ("bound", 1), "greeting_length": ("bound", 5)}


def test_with_resources_refuses_a_conflicting_binding() -> None:
    @dg.asset(resource_defs={"db": dg.ResourceDefinition.hardcoded_resource("mine")})
    def owns_db() -> None: ...

    with pytest.raises(dg.InvalidInvocationError, match="db"):
        dg.with_resources([owns_db], {"db": dg.ResourceDefinition.hardcoded_resource("other")})
    with pytest.raises(dg.InvalidInvocationError, match="nope"):
        dg.with_resources([owns_db], {}, resource_config_by_key={"nope": {"config": 1}})


def test_bind_resources_to_jobs_is_a_list_of_jobs_that_get_the_resources() -> None:
    @dg.op(required_resource_keys={"name"})
    def hello(context: dg.OpExecutionContext) -> str:
        return f"hello {context.resources.name}"

    @dg.job
    def hello_job() -> None:
        hello()

    jobs = dg.BindResourcesToJobs([hello_job])
    assert isinstance(jobs, list)
    defs = dg.Definitions(
        jobs=jobs, resources={"name": dg.ResourceDefinition.hardcoded_resource("kubedag")}
    )
    assert (
        defs.get_job_def("hello_job").execute_in_process().output_for_node("hello")
        == "hello kubedag"
    )


SETUPS: list[str] = []


class Credentials(dg.ConfigurableResource):
    user: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        SETUPS.append(f"credentials {self.user}")


@dg.resource(config_schema={"host": str})
def plain_connection(init_context: dg.InitResourceContext) -> str:
    return f"conn://{init_context.resource_config['host']}"


class Database(dg.ConfigurableResource):
    credentials: Credentials
    connection: dg.ResourceDependency[str]

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        SETUPS.append("database")

    def describe(self) -> str:
        return f"{self.credentials.user}@{self.connection}"


def test_resource_dependency_holds_an_initialized_function_style_resource() -> None:
    SETUPS.clear()
    database = Database(
        credentials=Credentials(user="ada"),
        connection=plain_connection.configured({"host": "db.local"}),
    )

    @dg.asset
    def who(db: Database) -> str:
        return db.describe()

    result = dg.materialize([who], resources={"db": database})
    assert result.output_for_node("who") == "ada@conn://db.local"
    assert SETUPS == ["credentials ada", "database"]  # nested resources are set up first
