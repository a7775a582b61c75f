"""SQL storages (SQLite and PostgreSQL) over one SQLAlchemy schema.

Importing this package imports SQLAlchemy (about 0.1 s), so the instance imports it only when
its configuration asks for SQL storage, never at `import kubedag`.
"""

from __future__ import annotations

from kubedag.storage.sql.database import Database, PoolSettings
from kubedag.storage.sql.event_log import SqlEventLogStorage
from kubedag.storage.sql.runs import SqlRunStorage
from kubedag.storage.sql.schedules import SqlScheduleStorage

__all__ = [
    "Database",
    "PoolSettings",
    "SqlEventLogStorage",
    "SqlRunStorage",
    "SqlScheduleStorage",
]
