"""Retry policies: how many times a failed step is tried again and how long to wait between.

The delay is a pure function of the policy, the attempt number and a random draw, so it can be
tested exactly and shared by every executor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Backoff(Enum):
    """How the delay grows with each attempt."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """How randomness is mixed into the delay, so retries of many steps do not stampede."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failed step up to `max_retries` times, waiting `delay` seconds (shaped by backoff
    and jitter) before each new attempt."""

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"RetryPolicy.max_retries must be >= 0; got {self.max_retries}.")
        if self.delay is not None and self.delay < 0:
            raise ValueError(f"RetryPolicy.delay must be >= 0 seconds; got {self.delay}.")
        if (self.backoff or self.jitter) and self.delay is None:
            raise ValueError("RetryPolicy: backoff and jitter need a base delay; set delay=…")


def retry_delay(policy: RetryPolicy, attempt: int, draw: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry).

    `draw` is a number in [0, 1) used for jitter; a fresh random one when not given.
    """
    base = float(policy.delay or 0.0)
    if policy.backoff is Backoff.EXPONENTIAL:
        delay = base * float(2**attempt - 1)
    elif policy.backoff is Backoff.LINEAR:
        delay = base * attempt
    else:
        delay = base
    if policy.jitter is None:
        return delay
    sample = random.random() if draw is None else float(draw)
    if policy.jitter is Jitter.FULL:
        return delay * sample
    return max(0.0, delay + delay * (sample - 0.5))
