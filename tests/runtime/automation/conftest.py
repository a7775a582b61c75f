"""Instances for driving schedules, sensors and automation conditions.

Submitted runs go to the queued run coordinator, so they stay QUEUED: these tests are about
which runs get created, not about executing them (the daemon test launches real ones).
`instance` runs on memory, SQLite and PostgreSQL; `sqlite_instance` where the backend makes no
difference. `reopen()` opens the same database again, as a restarted daemon would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.automation.workspace import CodeLocation

QUEUED = {"run_coordinator": {"queued": {"max_concurrent_runs": 0}}}


def document_for(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if backend == "memory":
        return {"storage": {"in_memory": {}}, **QUEUED}
    if backend == "sqlite":
        return dict(QUEUED)
    url = request.getfixturevalue("postgres_url")
    return {"storage": {"postgres": {"postgres_url": url}}, **QUEUED}


Opener = Callable[[], dg.Instance]


def _opener(document: dict[str, Any], home: Path) -> Iterator[Opener]:
    """Each call opens the same storage again; in memory the storage is the instance itself,
    so the same instance is returned."""
    opened: list[dg.Instance] = []
    in_memory = "in_memory" in document.get("storage", {})

    def open_instance() -> dg.Instance:
        if in_memory and opened:
            return opened[0]
        instance = dg.Instance.from_config(document, home=str(home))
        opened.append(instance)
        return instance

    yield open_instance
    for instance in opened:
        instance.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from _opener(document_for(str(request.param), request), tmp_path / "home")


@pytest.fixture
def open_sqlite(tmp_path: Path) -> Iterator[Opener]:
    yield from _opener(dict(QUEUED), tmp_path / "home")


@pytest.fixture
def instance(open_any: Opener) -> dg.Instance:
    return open_any()


@pytest.fixture
def sqlite_instance(open_sqlite: Opener) -> dg.Instance:
    return open_sqlite()


def location(defs: dg.Definitions, name: str = "loc") -> CodeLocation:
    """A code location over definitions built by the test; runs record a file path that no
    worker will load (runs stay queued)."""
    return CodeLocation.from_definitions(name, defs, python_file=f"/nowhere/{name}.py")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
