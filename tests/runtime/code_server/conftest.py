"""A code server over the sample code location, served on 127.0.0.1 (any free port) from a
thread, with its instance in the test's `$KUBEDAG_HOME`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.code_server.client import CodeServerClient
from kubedag.code_server.server import CodeHTTPServer, CodeServer, serving
from tests.runtime.code_server.sample_location import defs


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local instance home; the server opens its instance there (`Instance.get()`)."""
    path = tmp_path / "home"
    monkeypatch.setenv("KUBEDAG_HOME", str(path))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return path


@pytest.fixture
def code_server(home: Path) -> Iterator[CodeServer]:
    server = CodeServer.from_definitions("sample", defs)
    yield server
    server.close()


@pytest.fixture
def request_log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def http_server(code_server: CodeServer, request_log: io.StringIO) -> Iterator[CodeHTTPServer]:
    with serving(code_server, log=request_log) as httpd:
        yield httpd


@pytest.fixture
def client(http_server: CodeHTTPServer) -> CodeServerClient:
    return CodeServerClient(http_server.base_url, timeout=10)


@pytest.fixture
def instance(home: Path) -> Iterator[dg.Instance]:
    """The same instance the server opens, as another process would see it."""
    opened = dg.Instance.get()
    yield opened
    opened.dispose()
