"""Stored dataclasses rebuilt from positional values without `__init__`: the result is an
ordinary frozen instance, and classes the trick cannot serve are refused when registered."""

from __future__ import annotations

import dataclasses

import pytest

from kubedag.storage.rebuild import building_twin, compile_builder


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    sensor: str
    values: tuple[int, ...] = ()
    unit: str = "C"


@dataclasses.dataclass(frozen=True)
class WithDict:
    sensor: str


def _same(value: object) -> object:
    return value


def test_a_builder_makes_an_equal_frozen_instance() -> None:
    build = compile_builder(
        Reading, 3, [(1, "sensor"), (2, "values")], frozenset({"values"}), [("unit", str)], _same
    )
    reading = build(["Reading(sensor,values)", "t1", [1, 2]])
    assert type(reading) is Reading
    assert reading == Reading("t1", (1, 2), "")
    assert type(reading.values) is tuple
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.sensor = "t2"  # type: ignore[misc]


def test_containers_go_through_revive_and_scalars_do_not() -> None:
    seen: list[object] = []

    def revive(value: object) -> object:
        seen.append(value)
        return "revived"

    build = compile_builder(
        Reading, 4, [(1, "sensor"), (2, "values"), (3, "unit")], frozenset({"values"}), [], revive
    )
    assert build(["Reading(sensor,values,unit)", {"tag": 1}, [], "K"]) == Reading(
        "revived", (), "K"
    )
    assert seen == [{"tag": 1}]  # the empty list and the string were left alone


def test_a_stored_array_of_the_wrong_length_is_an_error() -> None:
    build = compile_builder(Reading, 2, [(1, "sensor")], frozenset(), [], _same)
    with pytest.raises(ValueError, match=r"Stored Reading\(sensor\) has 2 values"):
        build(["Reading(sensor)", "t1", "extra"])


def test_only_the_class_fields_can_be_named() -> None:
    with pytest.raises(ValueError, match="has no fields"):
        compile_builder(Reading, 2, [(1, "sensor = print('x'); x")], frozenset(), [], _same)


def test_a_dataclass_without_slots_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"slots=True"):
        building_twin(WithDict)
