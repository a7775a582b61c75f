"""Storage tests run on every backend: in memory, SQLite, and a real PostgreSQL server
(`tests/fixtures`), so the three answer every query the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg

BACKENDS = ["memory", "sqlite", "postgres"]


def instance_document(backend: str, request: pytest.FixtureRequest) -> dict[str, object]:
    if backend == "memory":
        return {"storage": {"in_memory": {}}}
    if backend == "sqlite":
        return {}
    url = request.getfixturevalue("postgres_url")
    return {"storage": {"postgres": {"postgres_url": url}}}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def instance_config(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> dict[str, object]:
    """The document and home of a fresh persistent instance on `backend`."""
    return {"document": instance_document(backend, request), "home": str(tmp_path / "home")}


@pytest.fixture
def instance(instance_config: dict[str, object]) -> Iterator[dg.Instance]:
    with dg.Instance.from_config(
        instance_config["document"],  # type: ignore[arg-type]
        home=str(instance_config["home"]),
    ) as opened:
        yield opened
