"""Fixtures for the code-location loader and CLI tests: a clean import state per test, a local
instance in a temporary home, and the command line run in this process."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what loading user code does to the process: `sys.path` entries, and modules
    imported from this test's temporary folder."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    root = str(tmp_path)
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


@dataclass
class Completed:
    """What a command run in this process returned and printed."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def instance_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh local instance home (SQLite, compute logs) for `Instance.get()` and the CLI."""
    home = tmp_path / "kubedag-home"
    monkeypatch.setenv("KUBEDAG_HOME", str(home))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return home


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Completed]:
    """`cli("runs", "list")`: run `kubedag runs list` in this process and capture its output."""
    from kubedag.cli.main import main

    def run(*args: str) -> Completed:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Completed(code, out, err)

    return run
