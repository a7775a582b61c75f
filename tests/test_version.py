"""`kubedag.version` is the one place the version is written down besides pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import kubedag as dg
from kubedag.version import __version__

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_version_module_agrees_with_pyproject_and_the_package_face() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert __version__ == declared, "bump runtime/kubedag/version.py with pyproject.toml"
    assert dg.__version__ == __version__
