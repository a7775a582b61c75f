"""Text building blocks the commands share: aligned columns, times, JSON values.

Pure functions: data in, lines or strings out. Times are shown in the local time zone, because
a person reads them next to their own clock; JSON output keeps Unix timestamps, because a
script compares them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kubedag.cli.metadata_display import metadata_json
from kubedag.definitions.metadata.values import MetadataValue


def format_columns(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows as left-aligned columns, two spaces apart, no trailing blanks; `(none)` if empty."""
    if not rows:
        return [f"{indent}(none)"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A header row over aligned columns, not indented (rows are what one pastes from)."""
    return format_columns([list(header), *rows], indent="")


def format_local_time(timestamp: float | None) -> str:
    """A Unix timestamp as local wall-clock time to the second, `-` when there is none."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def to_json_value(value: Any) -> Any:
    """`value` made of JSON types only: mappings and sequences kept, anything else as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, MetadataValue):
        return to_json_value(metadata_json(value))
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json_value(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def format_json(value: Any) -> str:
    """The document scripts read: indented, keys in the order built, one newline at the end."""
    return json.dumps(to_json_value(value), indent=2) + "\n"


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")


def hide_url_passwords(text: str) -> str:
    """`postgresql://user:secret@host` -> `postgresql://user:***@host`, wherever it appears."""
    return _URL_PASSWORD.sub(r"\g<head>:***@", text)
