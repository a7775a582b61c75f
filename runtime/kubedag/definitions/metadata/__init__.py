"""Metadata: typed values attached to assets, runs and events (`values`), table schemas and
column lineage (`table`), and links from an asset to its source code (`code_references`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def normalized(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """`values.normalize_metadata`, loading `values` only when there is metadata to normalize:
    its two dozen value classes cost ~10 ms to define, and most results, outputs and events
    carry none, so `import kubedag` and a step without metadata never pay for them."""
    if not metadata:
        return {}
    from kubedag.definitions.metadata.values import normalize_metadata

    return normalize_metadata(metadata)
