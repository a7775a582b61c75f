"""Dagster types as definitions: DagsterType, PythonObjectDagsterType, TypeCheck, the typing
helpers (dg.List, dg.Optional, ...), check_dagster_type and registering Python classes.

Expected values were taken from the reference (dagster 1.13.29) running the same calls.
"""

from __future__ import annotations

import typing

import pytest

import kubedag as dg
from kubedag.definitions.dagster_type import resolve_dagster_type


def test_a_dagster_type_checks_with_its_function_and_a_bool_becomes_a_type_check() -> None:
    even = dg.DagsterType(
        type_check_fn=lambda _context, value: isinstance(value, int) and value % 2 == 0,
        name="Even",
        description="an even int",
        metadata={"unit": "count"},
    )
    assert even.display_name == even.unique_name == "Even"
    assert even.description == "an even int"
    assert even.metadata == {"unit": "count"}
    assert even.typing_type is typing.Any
    assert dg.check_dagster_type(even, 4) == dg.TypeCheck(True)
    assert dg.check_dagster_type(even, 3).success is False


def test_a_type_check_carries_a_description_and_metadata() -> None:
    positive = dg.DagsterType(
        name="Positive",
        type_check_fn=lambda _context, value: dg.TypeCheck(
            value > 0, description="must be positive", metadata={"got": value}
        ),
    )
    result = dg.check_dagster_type(positive, -2)
    assert result == dg.TypeCheck(False, "must be positive", {"got": -2})
    assert (result.success, result.description, result.metadata) == (
        False,
        "must be positive",
        {"got": -2},
    )
    assert dg.TypeCheck(True).metadata == {}
    with pytest.raises(TypeError):
        dg.TypeCheck("yes")  # type: ignore[arg-type]


def test_a_check_function_must_return_a_bool_or_a_type_check() -> None:
    odd = dg.DagsterType(name="Odd", type_check_fn=lambda _context, _value: "yes")
    with pytest.raises(dg.InvalidDefinitionError, match=r'"Odd".*bool or a dg\.TypeCheck'):
        dg.check_dagster_type(odd, 1)


def test_a_dagster_type_needs_a_name_or_a_key() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="name="):
        dg.DagsterType(type_check_fn=lambda _c, _v: True)
    assert dg.DagsterType(type_check_fn=lambda _c, _v: True, key="k").display_name == "k"


def test_the_type_check_context_has_the_run_id_a_logger_and_resources() -> None:
    seen: list[dg.TypeCheckContext] = []

    def check(context: dg.TypeCheckContext, _value: object) -> bool:
        seen.append(context)
        return True

    dg.check_dagster_type(dg.DagsterType(check, name="Seen"), 1)
    (context,) = seen
    assert isinstance(context, dg.TypeCheckContext)
    assert context.run_id == "EPHEMERAL"
    context.log.info("a type check can log")
    with pytest.raises(AttributeError, match="no resources"):
        _ = context.resources.db


class Point:
    pass


def test_a_python_object_type_checks_isinstance_and_names_itself_after_the_class() -> None:
    point = dg.PythonObjectDagsterType(Point)
    assert point.display_name == "Point"
    assert point.python_type is Point
    assert dg.check_dagster_type(point, Point()).success
    failed = dg.check_dagster_type(point, 1)
    assert failed.description == (
        "Value of type <class 'int'> failed type check for Dagster type Point, expected value "
        f"to be of Python type {__name__}.Point."
    )
    named = dg.PythonObjectDagsterType(int, name="I")
    assert dg.check_dagster_type(named, "a").description == (
        "Value of type <class 'str'> failed type check for Dagster type I, expected value to "
        "be of Python type int."
    )
    either = dg.PythonObjectDagsterType((int, str))
    assert either.display_name == "Union[int, str]"
    assert dg.check_dagster_type(either, "a").success
    assert not dg.check_dagster_type(either, 2.0).success


@pytest.mark.parametrize(
    ("dagster_type", "value", "description"),
    [
        (int, 1, None),
        (int, True, None),
        (int, "a", 'Value "a" of python type "str" must be a int.'),
        (float, 1, 'Value "1" of python type "int" must be a float.'),
        (str, 1, 'Value "1" of python type "int" must be a string.'),
        (bool, 1, 'Value "1" of python type "int" must be a bool.'),
        (list, (1,), 'Value "(1,)" of python type "tuple" must be a list.'),
        (dg.List[int], [1, "a"], 'Value "a" of python type "str" must be a int.'),
        (dg.List, 1, 'Value "1" of python type "int" must be a list.'),
        (dg.Optional[int], None, None),
        (dg.Optional[int], "s", 'Value "s" of python type "str" must be a int.'),
        (dg.List[dg.Optional[int]], [None, 1], None),
        (dg.Dict[str, int], {"a": 1}, None),
        (dg.Dict[str, int], {1: 1}, 'Value "1" of python type "int" must be a string.'),
        (dg.Dict[str, int], 1, "Value should be a dict, got a <class 'int'>"),
        (
            dg.Dict,
            1,
            "Value of type <class 'int'> failed type check for Dagster type dict, expected "
            "value to be of Python type dict.",
        ),
        (dg.Set[str], {1}, 'Value "1" of python type "int" must be a string.'),
        (dg.Set, {1}, None),
        (dg.Tuple[int, str], (1, "a"), None),
        (
            dg.Tuple[int, str],
            (1,),
            "Tuple with key TypedPythonTupleInt.String requires 2 entries, received 1 values",
        ),
        (dg.Tuple[int], [1], "Value should be a tuple, got a <class 'list'>"),
        (dg.Nothing, None, None),
        (dg.Nothing, 1, "Value must be None or unset, got a <class 'int'>"),
        (typing.Any, object(), None),
    ],
)
def test_built_in_types_check_as_the_reference_does(
    dagster_type: object, value: object, description: str | None
) -> None:
    result = dg.check_dagster_type(dagster_type, value)
    assert result.success is (description is None)
    assert result.description == description


def test_check_dagster_type_refuses_forms_of_the_typing_module() -> None:
    for form in (list[int], typing.Optional[int], dict[str, int]):  # noqa: UP045
        with pytest.raises(dg.InvalidDefinitionError, match="typing"):
            dg.check_dagster_type(form, 1)


@pytest.mark.parametrize(
    ("annotation", "display_name"),
    [
        (int, "Int"),
        (str, "String"),
        (float, "Float"),
        (bool, "Bool"),
        (list, "[Any]"),
        (list[int], "[Int]"),
        (typing.List[int], "[Int]"),  # noqa: UP006
        (typing.Optional[int], "Int?"),  # noqa: UP045
        (int | None, "Int?"),
        (dict, "dict"),
        (dict[str, int], "Dict[String,Int]"),
        (set[int], "Set[Int]"),
        (tuple[int, str], "Tuple[Int,String]"),
        (dg.List[dg.Dict[str, int]], "[Dict[String,Int]]"),
        (type(None), "Nothing"),
        (typing.Any, "Any"),
        (None, "Any"),
    ],
)
def test_annotations_stand_for_the_reference_s_types(annotation: object, display_name: str) -> None:
    assert resolve_dagster_type(annotation).display_name == display_name


def test_the_typing_helpers_need_parameters_where_the_reference_does() -> None:
    assert dg.Nothing is type(None)
    with pytest.raises(dg.InvalidDefinitionError, match="needs a type parameter"):
        resolve_dagster_type(dg.Optional)
    assert dg.Optional[dg.Optional[int]].display_name == "Int?"


def test_a_registered_python_class_stands_for_its_dagster_type() -> None:
    class Celsius(float):
        pass

    warm = dg.DagsterType(
        name="WarmCelsius",
        type_check_fn=lambda _c, value: isinstance(value, Celsius) and value > 15,
    )
    dg.make_python_type_usable_as_dagster_type(Celsius, warm)
    assert resolve_dagster_type(Celsius) is warm
    dg.make_python_type_usable_as_dagster_type(Celsius, warm)  # the same again is fine
    with pytest.raises(dg.InvalidDefinitionError, match="already registered"):
        dg.make_python_type_usable_as_dagster_type(Celsius, dg.PythonObjectDagsterType(Celsius))


def test_usable_as_dagster_type_registers_the_class_with_or_without_arguments() -> None:
    @dg.usable_as_dagster_type
    class Plain:
        pass

    @dg.usable_as_dagster_type(name="FancyName", description="a fancy class")
    class Fancy:
        pass

    assert resolve_dagster_type(Plain).display_name == "Plain"
    fancy = resolve_dagster_type(Fancy)
    assert (fancy.display_name, fancy.description) == ("FancyName", "a fancy class")
    assert dg.check_dagster_type(Fancy, Fancy()).success
    assert not dg.check_dagster_type(Fancy, Plain()).success


def test_a_loader_is_declared_with_its_config_schema() -> None:
    @dg.dagster_type_loader(config_schema={"a": int}, required_resource_keys={"db"})
    def load(_context: dg.DagsterTypeLoaderContext, config: dict[str, int]) -> int:
        return config["a"]

    assert isinstance(load, dg.DagsterTypeLoader)
    assert load.schema_type == {"a": int}
    assert load.required_resource_keys() == {"db"}
    typed = dg.DagsterType(name="Loaded", type_check_fn=lambda _c, _v: True, loader=load)
    assert typed.loader is load
    assert typed.required_resource_keys == {"db"}


def test_a_default_value_must_pass_its_input_s_type_check() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match=r"default value of input 'x'.*Int"):

        @dg.op
        def typed_default(x: int = "a") -> int:  # type: ignore[assignment]
            return x


def test_a_nothing_input_cannot_be_a_parameter() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="type Nothing"):

        @dg.op(ins={"start": dg.In(dg.Nothing)})
        def takes_it(start: object) -> None:
            pass


def test_type_errors_are_kubedag_errors() -> None:
    assert issubclass(dg.DagsterTypeCheckDidNotPass, dg.KubedagError)
    assert issubclass(dg.DagsterTypeCheckError, dg.StepExecutionError)
    error = dg.DagsterTypeCheckDidNotPass("why", {"a": 1}, dg.PythonObjectDagsterType(int))
    assert (error.description, error.metadata) == ("why", {"a": 1})
