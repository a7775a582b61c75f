"""Fixtures shared by the reference examples: an instance whose stored values live in tmp_path."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    """An ephemeral instance rooted in tmp_path, so `materialize` writes nowhere else."""
    with dg.Instance.ephemeral(str(tmp_path / "kubedag_home")) as ephemeral:
        yield ephemeral
