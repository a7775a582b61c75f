"""How many intervals overlap at most: for tests that prove a concurrency limit held."""

from __future__ import annotations

from collections.abc import Iterable


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most (start, end) intervals in progress at one instant: a sweep over the starts and
    ends, an end before a start at the same instant."""
    pairs = list(intervals)
    edges = sorted([(start, 1) for start, _ in pairs] + [(end, -1) for _, end in pairs])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak
