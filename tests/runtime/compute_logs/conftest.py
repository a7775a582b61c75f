"""Every compute log test checks that no capture or upload thread outlives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_leftover_capture_threads() -> Iterator[None]:
    yield
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("kubedag-compute-log")]
    assert leftovers == []
