"""Materializing assets in process: values flow between assets and events record each step."""

import kubedag as dg


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


def test_values_flow_downstream_and_are_recorded() -> None:
    result = dg.materialize([numbers, total])
    assert result.success
    assert result.output_for_node("total") == 6
    keys = [m.asset_key for m in result.asset_materializations_for_node("total")]
    assert keys == [dg.AssetKey(["total"])]
    step_order = [e.step_key for e in result.all_events if e.event_type is dg.EventType.STEP_START]
    assert step_order == ["numbers", "total"]
