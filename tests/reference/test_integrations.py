"""Reference section "Integrations", OpenAI: a resource configured from `EnvVar`, used in an
asset through `openai.get_client(context)`, which records usage in the asset's metadata.

dagster-openai and the network are not available: `OpenAIResource` below is a stand-in with the
same shape (an `api_key` field and a `get_client(context)` context manager), and its client
answers every chat completion with canned text and token counts. The Postgres integration has
no code example; Pipes (`PipesSubprocessClient`, dagster-pipes) is not covered yet.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from kubedag import (
    AssetExecutionContext,
    ConfigurableResource,
    Definitions,
    EnvVar,
    EnvVarNotSetError,
    asset,
    define_asset_job,
)


class FakeOpenAIClient:
    """Answers chat completions without a network; remembers the key and the requests."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.total_tokens = 0
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, *, model: str, messages: list[dict[str, str]]) -> Any:
        self.requests.append({"model": model, "messages": messages})
        self.total_tokens += 17
        return SimpleNamespace(
            choices=[SimpleNamespace(message=SimpleNamespace(content="This is a test."))],
            usage=SimpleNamespace(prompt_tokens=12, completion_tokens=5, total_tokens=17),
        )


clients: list[FakeOpenAIClient] = []


class OpenAIResource(ConfigurableResource):
    api_key: str

    @contextmanager
    def get_client(self, context: AssetExecutionContext) -> Iterator[FakeOpenAIClient]:
        client = FakeOpenAIClient(self.api_key)
        clients.append(client)
        yield client
        context.add_output_metadata(
            {"openai.calls": len(client.requests), "openai.total_tokens": client.total_tokens}
        )


# Resource definition
openai = OpenAIResource(api_key=EnvVar("OPENAI_API_KEY"))


@asset(compute_kind="OpenAI")
def openai_asset(context: AssetExecutionContext, openai: OpenAIResource):
    with openai.get_client(context) as client:
        client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[{"role": "user", "content": "Say this is a test."}],
        )


openai_asset_job = define_asset_job(name="openai_asset_job", selection="openai_asset")

defs = Definitions(
    assets=[openai_asset],
    jobs=[openai_asset_job],
    resources={
        "openai": OpenAIResource(api_key=EnvVar("OPENAI_API_KEY")),
    },
)


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> list[FakeOpenAIClient]:
    fresh: list[FakeOpenAIClient] = []
    monkeypatch.setattr(sys.modules[__name__], "clients", fresh)
    return fresh


def test_asset_uses_a_client_made_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_clients: list[FakeOpenAIClient]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    result = defs.get_job_def("openai_asset_job").execute_in_process()

    assert result.success
    [client] = fresh_clients
    assert client.api_key == "sk-test"
    assert client.requests == [
        {
            "model": "gpt-3.5-turbo",
            "messages": [{"role": "user", "content": "Say this is a test."}],
        }
    ]
    [materialization] = result.asset_materializations_for_node("openai_asset")
    assert materialization.metadata["openai.calls"].value == 1
    assert materialization.metadata["openai.total_tokens"].value == 17


def test_compute_kind_is_recorded_as_a_kind() -> None:
    assert openai_asset.specs[0].kinds == frozenset({"OpenAI"})


def test_missing_api_key_fails_before_any_client_is_made(
    monkeypatch: pytest.MonkeyPatch, fresh_clients: list[FakeOpenAIClient]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(EnvVarNotSetError, match="OPENAI_API_KEY"):
        defs.get_job_def("openai_asset_job").execute_in_process()
    assert fresh_clients == []
