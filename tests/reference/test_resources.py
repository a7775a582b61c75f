"""Reference section "Resources": a `ConfigurableResource` injected by parameter, bound in
`Definitions`, with `EnvVar` read when the run starts; and the helpers in the API table.

There is no network here: `requests` is a small fake that records each GET and answers with
canned JSON.
"""

import sys
from typing import Any

import pytest

import kubedag as dg


class Response:
    """The part of `requests.Response` the example uses."""

    def __init__(self, url: str, payload: dict[str, Any]) -> None:
        self.url = url
        self._payload = payload

    def json(self) -> dict[str, Any]:
        return self._payload


class FakeRequests:
    """Stands in for the `requests` module: records every GET, returns canned JSON."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        self.calls.append((url, dict(headers or {})))
        return Response(url, {"orders": [1, 2, 3]})


requests = FakeRequests()


class MyConnectionResource(dg.ConfigurableResource):
    username: str

    def request(self, endpoint: str) -> Response:
        return requests.get(
            f"https://my-api.com/{endpoint}",
            headers={"user-agent": "dagster"},
        )


@dg.asset
def data_from_service(my_conn: MyConnectionResource) -> dict[str, Any]:
    return my_conn.request("/fetch_data").json()


defs = dg.Definitions(
    assets=[data_from_service],
    resources={
        "my_conn": MyConnectionResource(username="admin"),
    },
)


@dg.asset
def current_username(my_conn: MyConnectionResource) -> str:
    """Not in the reference: shows which username the resource was initialized with."""
    return my_conn.username


def env_defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[data_from_service, current_username],
        resources={
            "my_conn": MyConnectionResource(username=dg.EnvVar("API_USERNAME")),
        },
    )


@pytest.fixture(autouse=True)
def fake_requests(monkeypatch: pytest.MonkeyPatch) -> FakeRequests:
    fresh = FakeRequests()
    monkeypatch.setattr(sys.modules[__name__], "requests", fresh)
    return fresh


def test_resource_is_injected_by_parameter_name(fake_requests: FakeRequests) -> None:
    assert data_from_service.required_resource_keys == frozenset({"my_conn"})

    result = defs.get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    assert result.output_for_node("data_from_service") == {"orders": [1, 2, 3]}
    assert fake_requests.calls == [
        ("https://my-api.com//fetch_data", {"user-agent": "dagster"}),
    ]


def test_resource_can_be_used_directly() -> None:
    assert data_from_service(MyConnectionResource(username="admin")) == {"orders": [1, 2, 3]}


def test_unbound_resource_fails_when_definitions_load() -> None:
    with pytest.raises(dg.MissingResourceError, match="'my_conn'"):
        dg.Definitions(assets=[data_from_service])


def test_env_var_is_read_when_each_run_starts(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    job = env_defs().get_implicit_global_asset_job_def()

    monkeypatch.setenv("API_USERNAME", "alice")
    first = job.execute_in_process(instance=instance)
    monkeypatch.setenv("API_USERNAME", "bob")
    second = job.execute_in_process(instance=instance)

    assert first.output_for_node("current_username") == "alice"
    assert second.output_for_node("current_username") == "bob"


def test_env_var_value_is_not_kept_in_definitions_runs_or_logs(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    monkeypatch.setenv("API_USERNAME", "s3cr3t-user")
    defs = dg.Definitions(
        resources={
            "my_conn": MyConnectionResource(username=dg.EnvVar("API_USERNAME")),
        },
    )
    assert "s3cr3t-user" not in repr(defs.resources["my_conn"])

    result = env_defs().get_implicit_global_asset_job_def().execute_in_process(instance=instance)

    assert result.output_for_node("current_username") == "s3cr3t-user"
    assert "s3cr3t-user" not in repr(result.run.run_config)
    assert all("s3cr3t-user" not in e.user_message for e in instance.all_logs(result.run_id))


def test_missing_env_var_fails_naming_it_before_any_step_runs(
    monkeypatch: pytest.MonkeyPatch, instance: dg.Instance, fake_requests: FakeRequests
) -> None:
    monkeypatch.delenv("API_USERNAME", raising=False)
    job = env_defs().get_implicit_global_asset_job_def()  # loading does not need the value

    with pytest.raises(dg.EnvVarNotSetError, match="API_USERNAME") as raised:
        job.execute_in_process(instance=instance)

    assert "resources.my_conn.username" in str(raised.value)
    assert fake_requests.calls == []  # no asset ran
    assert instance.get_runs() == []  # no run was even created


# -- the API table ---------------------------------------------------------------------------


def test_resource_param_marks_any_type_as_a_resource(fake_requests: FakeRequests) -> None:
    @dg.asset
    def raw_json(http: dg.ResourceParam[FakeRequests]) -> dict[str, Any]:
        return http.get("https://my-api.com/raw").json()

    assert raw_json.required_resource_keys == frozenset({"http"})
    result = dg.materialize_to_memory([raw_json], resources={"http": fake_requests})
    assert result.asset_value("raw_json") == {"orders": [1, 2, 3]}
    assert [url for url, _ in fake_requests.calls] == ["https://my-api.com/raw"]


def test_build_init_resource_context_configures_a_resource_for_a_test() -> None:
    context = dg.build_init_resource_context(config={"username": "admin"})

    resource = MyConnectionResource.from_resource_context(context)

    assert resource.username == "admin"


def test_build_resources_initializes_outside_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_USERNAME", "carol")

    with dg.build_resources(
        {"my_conn": MyConnectionResource(username=dg.EnvVar("API_USERNAME"))}
    ) as resources:
        assert resources.my_conn.username == "carol"

    monkeypatch.delenv("API_USERNAME")
    with (
        pytest.raises(dg.EnvVarNotSetError, match="API_USERNAME"),
        dg.build_resources({"my_conn": MyConnectionResource(username=dg.EnvVar("API_USERNAME"))}),
    ):
        pass
