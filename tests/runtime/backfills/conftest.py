"""Backfill tests run on every storage backend, like the storage tests."""

from tests.runtime.storage.conftest import backend, instance, instance_config

__all__ = ["backend", "instance", "instance_config"]
