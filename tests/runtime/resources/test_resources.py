"""Resources: injected by parameter, set up and torn down around each run, EnvVar read late."""

from collections.abc import Iterator
from typing import Any

import pytest

import kubedag as dg
from kubedag.records.events import EventType


class ApiClient(dg.ConfigurableResource):
    base_url: str
    token: str = "none"

    def fetch(self, path: str) -> str:
        return f"{self.base_url}/{path}"


def test_resource_is_injected_by_parameter_name() -> None:
    @dg.asset
    def payload(api: ApiClient) -> str:
        return api.fetch("orders")

    result = dg.materialize([payload], resources={"api": ApiClient(base_url="https://x")})
    assert result.output_for_node("payload") == "https://x/orders"


def test_env_var_is_read_when_the_run_starts_and_never_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_TOKEN", "s3cr3t-value")
    seen: list[str] = []

    @dg.asset
    def authed(context: dg.AssetExecutionContext, api: ApiClient) -> None:
        seen.append(api.token)
        context.log.info("fetched with a token")

    client = ApiClient(base_url="https://x", token=dg.EnvVar("API_TOKEN"))
    assert client.env_var_fields == {"token": dg.EnvVar("API_TOKEN")}
    monkeypatch.setenv("API_TOKEN", "rotated-value")  # read at run start, not at definition
    instance = dg.Instance.ephemeral()
    result = dg.materialize([authed], resources={"api": client}, instance=instance)
    assert seen == ["rotated-value"]
    stored = repr(instance.get_run_by_id(result.run_id)) + repr(instance.all_logs(result.run_id))
    assert "rotated-value" not in stored and "s3cr3t" not in stored


def test_unset_env_var_fails_before_any_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISSING_TOKEN", raising=False)
    ran: list[str] = []

    @dg.asset
    def authed(api: ApiClient) -> None:
        ran.append("authed")

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.EnvVarNotSetError, match=r"resources\.api\.token.*MISSING_TOKEN"):
        dg.materialize(
            [authed],
            resources={"api": ApiClient(base_url="x", token=dg.EnvVar("MISSING_TOKEN"))},
            instance=instance,
            raise_on_error=False,
        )
    assert ran == [] and instance.get_runs() == []


def test_run_config_can_configure_a_resource_at_launch() -> None:
    @dg.asset
    def where(api: ApiClient) -> str:
        return api.base_url

    result = dg.materialize(
        [where],
        resources={"api": ApiClient.configure_at_launch()},
        run_config={"resources": {"api": {"config": {"base_url": "https://launch"}}}},
    )
    assert result.output_for_node("where") == "https://launch"


def test_bad_resource_config_names_the_field() -> None:
    @dg.asset
    def where(api: ApiClient) -> str:
        return api.base_url

    with pytest.raises(dg.InvalidConfigError, match=r"resources\.api\.config\.base_url"):
        dg.materialize(
            [where],
            resources={"api": ApiClient(base_url="x")},
            run_config={"resources": {"api": {"config": {"base_url": 3}}}},
        )


class Tracked(dg.ConfigurableResource):
    name: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        EVENTS.append(f"setup {self.name}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        EVENTS.append(f"teardown {self.name}")


EVENTS: list[str] = []


def test_setup_and_teardown_bracket_the_run_even_when_it_fails() -> None:
    EVENTS.clear()

    @dg.asset
    def uses(tracked: Tracked) -> None:
        EVENTS.append("compute")
        raise RuntimeError("boom")

    result = dg.materialize([uses], resources={"tracked": Tracked(name="db")}, raise_on_error=False)
    assert not result.success
    assert EVENTS == ["setup db", "compute", "teardown db"]


def test_unused_resources_are_not_initialized() -> None:
    EVENTS.clear()

    @dg.asset
    def plain() -> int:
        return 1

    dg.materialize([plain], resources={"tracked": Tracked(name="idle")})
    assert EVENTS == []


def test_function_resource_with_cleanup_and_required_keys() -> None:
    log: list[str] = []

    @dg.resource
    def connection(context: dg.InitResourceContext) -> Iterator[dict[str, Any]]:
        log.append("open")
        yield {"dsn": "postgres://example"}
        log.append("close")

    @dg.asset(required_resource_keys={"connection"})
    def query(context: dg.AssetExecutionContext) -> str:
        return str(context.resources.connection["dsn"])

    result = dg.materialize([query], resources={"connection": connection})
    assert result.output_for_node("query") == "postgres://example"
    assert log == ["open", "close"]


def test_resource_that_cannot_start_fails_the_run_with_its_key() -> None:
    class Broken(dg.ConfigurableResource):
        def setup_for_execution(self, context: dg.InitResourceContext) -> None:
            raise ConnectionRefusedError("warehouse is down")

    @dg.asset
    def needs(broken: Broken) -> None: ...

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.ResourceInitError, match="Resource 'broken' failed to initialize"):
        dg.materialize([needs], resources={"broken": Broken()}, instance=instance)
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE
    types = [e.event.event_type for e in instance.all_logs(run.run_id) if e.event]
    assert EventType.RESOURCE_INIT_FAILURE in types and types[-1] is EventType.RUN_FAILURE


def test_resource_param_marks_any_type_as_a_resource() -> None:
    @dg.asset
    def greeting(prefix: dg.ResourceParam[str]) -> str:
        return prefix + " world"

    assert (
        dg.materialize([greeting], resources={"prefix": "hello"}).output_for_node("greeting")
        == "hello world"
    )


def test_build_resources_outside_a_run() -> None:
    EVENTS.clear()
    with dg.build_resources(
        {"tracked": Tracked(name="adhoc"), "api": ApiClient(base_url="u")}
    ) as resources:
        assert resources.api.fetch("a") == "u/a"
        assert EVENTS == ["setup adhoc"]
    assert EVENTS == ["setup adhoc", "teardown adhoc"]


def test_build_init_resource_context_for_testing_a_resource() -> None:
    @dg.resource(config_schema={"size": int})
    def pool(context: dg.InitResourceContext) -> int:
        return int(context.resource_config["size"]) * 2

    assert pool(dg.build_init_resource_context(config={"size": 4})) == 8


def test_missing_resource_in_context_names_it() -> None:
    @dg.asset
    def reads(context: dg.AssetExecutionContext) -> None:
        context.resources.nonexistent  # noqa: B018

    result = dg.materialize([reads], raise_on_error=False)
    message = result.get_step_failure_events()[0].step_failure_data.error.message  # type: ignore[union-attr]
    assert "Unknown resource `nonexistent`" in message  # the reference's wording
