"""Which backfill storage goes with a run storage: backfills live in the same database."""

from __future__ import annotations

from typing import Any

from kubedag.storage.base import BackfillStorage


def backfill_storage_for(run_storage: Any) -> BackfillStorage:
    """The backfill storage next to `run_storage`: its SQL database, or memory.

    A plugged-in run storage can offer its own with a `backfill_storage()` method."""
    own = getattr(run_storage, "backfill_storage", None)
    if callable(own):
        storage: BackfillStorage = own()
        return storage
    database = getattr(run_storage, "database", None)
    if database is not None:
        from kubedag.storage.sql.backfills import SqlBackfillStorage

        return SqlBackfillStorage(database)
    from kubedag.storage.memory import InMemoryBackfillStorage

    return InMemoryBackfillStorage()
