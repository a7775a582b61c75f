"""`-> dg.Output[int]` and `-> tuple[...]` return annotations, as the reference reads them."""

import kubedag as dg


def test_output_of_int_types_the_output_as_int() -> None:
    @dg.op
    def one() -> dg.Output[int]:
        return dg.Output(1, metadata={"m": 1})

    assert one.output_defs[0].annotation is int

    @dg.job
    def j() -> None:
        one()

    assert j.execute_in_process().output_for_node("one") == 1


def test_a_tuple_annotation_types_several_outputs_in_order() -> None:
    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def two() -> tuple[dg.Output[int], dg.Output[str]]:
        return dg.Output(1), dg.Output("x")

    @dg.op(out={"a": dg.Out(), "b": dg.Out()})
    def plain() -> tuple[int, str]:
        return 1, "x"

    @dg.op
    def whole() -> tuple[int, str]:
        return 1, "x"

    assert [o.annotation for o in two.output_defs] == [int, str]
    assert [o.annotation for o in plain.output_defs] == [int, str]

    @dg.job
    def j() -> None:
        two()
        plain()
        whole()

    result = j.execute_in_process()
    # Unnamed Outputs in a returned tuple take the name of their position.
    assert result.output_for_node("two", "a") == 1
    assert result.output_for_node("two", "b") == "x"
    assert result.output_for_node("plain", "b") == "x"
    assert result.output_for_node("whole") == (1, "x")
