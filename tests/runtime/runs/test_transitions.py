"""The transitions table: every pair of statuses, allowed or refused, as documented."""

from __future__ import annotations

import pytest

from kubedag.errors import RunStatusTransitionError
from kubedag.records.run import RunStatus
from kubedag.records.transitions import (
    allowed_predecessors,
    can_change,
    checked_predecessors,
    next_status,
)

S = RunStatus
# docs/run-lifecycle.md, "Statuses and transitions", written out once more on purpose: a change
# to the table must change this test too.
DOCUMENTED = {
    S.NOT_STARTED: {S.QUEUED, S.STARTING, S.STARTED, S.CANCELED, S.FAILURE},
    S.QUEUED: {S.STARTING, S.CANCELED, S.FAILURE},
    S.STARTING: {S.STARTED, S.FAILURE, S.CANCELING, S.CANCELED},
    S.STARTED: {S.SUCCESS, S.FAILURE, S.CANCELING, S.CANCELED},
    S.CANCELING: {S.CANCELED, S.FAILURE, S.SUCCESS},
    S.SUCCESS: set(),
    S.FAILURE: set(),
    S.CANCELED: set(),
    S.MANAGED: set(),
}
UNFINISHED = {S.NOT_STARTED, S.QUEUED, S.STARTING, S.STARTED, S.CANCELING}


@pytest.mark.parametrize("current", list(RunStatus))
@pytest.mark.parametrize("to", list(RunStatus))
def test_every_pair_of_statuses(current: RunStatus, to: RunStatus) -> None:
    allowed = to in DOCUMENTED[current] or (current is to and current in UNFINISHED)
    assert can_change(current, to) is allowed
    if allowed:
        assert next_status(current, to) is to
    else:
        with pytest.raises(RunStatusTransitionError) as raised:
            next_status(current, to)
        assert f"from {current.value} to {to.value}" in str(raised.value)
        assert raised.value.current is current and raised.value.requested is to


def test_refusals_say_what_is_possible_instead() -> None:
    with pytest.raises(
        RunStatusTransitionError, match="may only move to CANCELED, FAILURE, STARTING"
    ):
        next_status(S.QUEUED, S.SUCCESS)
    with pytest.raises(RunStatusTransitionError, match="finished run never changes"):
        next_status(S.FAILURE, S.FAILURE)


def test_predecessors_are_what_a_compare_and_set_matches() -> None:
    assert allowed_predecessors(S.STARTING) == {S.NOT_STARTED, S.QUEUED, S.STARTING}
    assert allowed_predecessors(S.CANCELED) == {
        S.NOT_STARTED,
        S.QUEUED,
        S.STARTING,
        S.STARTED,
        S.CANCELING,
    }
    assert allowed_predecessors(S.QUEUED) == {S.NOT_STARTED, S.QUEUED}
    assert checked_predecessors(S.STARTING, [S.QUEUED]) == [S.QUEUED]
    with pytest.raises(RunStatusTransitionError):
        checked_predecessors(S.STARTING, [S.QUEUED, S.STARTED])
