"""Dagster types: what a value passed between ops must be, checked when it crosses a step.

A `DagsterType` is a name and a check function `(context, value) -> bool | TypeCheck`, plus an
optional loader that builds a value from run config for an input nothing feeds. Users declare
them on `In`/`Out`, or let an annotation stand for one: `int`, `list[int]`, `Optional[str]`,
`dg.Dict[str, int]`, a class (checked with `isinstance`), or a DagsterType instance itself.

`resolve_dagster_type` maps an annotation to its type once, when the op is defined. An input or
output that is untyped (no annotation, `Any`, an annotation kept as text) resolves to `ANY`,
and execution skips those entirely: typing costs nothing where it is not used.

`dg.List`, `dg.Dict`, `dg.Set`, `dg.Tuple` and `dg.Optional` are subscriptable like their
`typing` cousins (`dg.List[int]`); the bare name of the first four is the type of any list,
dict, set or tuple. `dg.Nothing` is `NoneType`: an input of that type only orders two ops.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from kubedag.definitions.type_check import TypeCheck, TypeCheckContext
from kubedag.definitions.type_loaders import ListLoader, OptionalLoader, ScalarLoader
from kubedag.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from kubedag.definitions.signature import FunctionSignature, InputDef, OutputDef

Nothing = type(None)

T_Type = TypeVar("T_Type", bound=type)


class DagsterTypeKind(Enum):
    ANY = "ANY"
    SCALAR = "SCALAR"
    LIST = "LIST"
    NOTHING = "NOTHING"
    NULLABLE = "NULLABLE"
    REGULAR = "REGULAR"


TypeCheckFn = Callable[[Any, Any], "TypeCheck | bool"]


class DagsterType:
    """A named check of the values an input or output takes, with an optional config loader."""

    def __init__(
        self,
        type_check_fn: TypeCheckFn,
        key: str | None = None,
        name: str | None = None,
        is_builtin: bool = False,
        description: str | None = None,
        loader: Any = None,
        required_resource_keys: set[str] | frozenset[str] | None = None,
        kind: DagsterTypeKind = DagsterTypeKind.REGULAR,
        typing_type: Any = Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(type_check_fn):
            raise InvalidDefinitionError(
                f"DagsterType: type_check_fn must be a function (context, value) -> bool or "
                f"TypeCheck; got {type_check_fn!r}."
            )
        if key is None and name is None:
            raise InvalidDefinitionError("DagsterType: give it a name= (or a key=).")
        self._type_check_fn = type_check_fn
        self.key: str = key if key is not None else name  # type: ignore[assignment]
        self._name = name
        self.is_builtin = is_builtin
        self.description = description
        self.loader = loader
        self.required_resource_keys = frozenset(required_resource_keys or ()) | (
            frozenset(loader.required_resource_keys()) if loader is not None else frozenset()
        )
        self.kind = kind
        self.typing_type = typing_type
        self.metadata = dict(metadata or {})

    @property
    def unique_name(self) -> str:
        return self.key

    @property
    def has_unique_name(self) -> bool:
        return self._name is not None

    @property
    def display_name(self) -> str:
        return self._name if self._name is not None else self.key

    @property
    def is_nothing(self) -> bool:
        return self.kind is DagsterTypeKind.NOTHING

    @property
    def is_any(self) -> bool:
        return self.kind is DagsterTypeKind.ANY

    @property
    def supports_fan_in(self) -> bool:
        return False

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return ()

    def type_check(self, context: Any, value: Any) -> TypeCheck:
        """Run the check function and turn a bool into a `TypeCheck`."""
        result = self._type_check_fn(context, value)
        if result is True:
            return _PASSED
        if isinstance(result, TypeCheck):
            return result
        if isinstance(result, bool):
            return TypeCheck(result)
        raise InvalidDefinitionError(
            f'The type check function of type "{self.display_name}" returned {result!r} of '
            f"type {type(result).__name__}; it must return a bool or a dg.TypeCheck."
        )

    def __repr__(self) -> str:
        return f"<DagsterType {self.display_name}>"


_PASSED = TypeCheck(True)


def _not_of_type(value: Any, wanted: str) -> TypeCheck:
    return TypeCheck(
        False, f'Value "{value}" of python type "{type(value).__name__}" must be a {wanted}.'
    )


def _isinstance_check(python_type: type | tuple[type, ...], wanted: str) -> TypeCheckFn:
    def check(_context: Any, value: Any) -> TypeCheck:
        return _PASSED if isinstance(value, python_type) else _not_of_type(value, wanted)

    return check


def _python_type_name(python_type: type | tuple[type, ...]) -> str:
    if isinstance(python_type, tuple):
        return "Union[" + ", ".join(t.__name__ for t in python_type) + "]"
    return python_type.__name__


class PythonObjectDagsterType(DagsterType):
    """A type whose check is `isinstance(value, python_type)`; `python_type` may be a tuple."""

    def __init__(
        self,
        python_type: type | tuple[type, ...],
        key: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not (
            isinstance(python_type, type)
            or (isinstance(python_type, tuple) and all(isinstance(t, type) for t in python_type))
        ):
            raise InvalidDefinitionError(
                f"PythonObjectDagsterType: python_type must be a class or a tuple of classes; "
                f"got {python_type!r}."
            )
        self.python_type = python_type
        name = name or _python_type_name(python_type)
        kwargs.setdefault(
            "typing_type",
            python_type if isinstance(python_type, type) else typing.Union[python_type],  # noqa: UP007
        )
        super().__init__(self._check, key=key or name, name=name, **kwargs)

    def _check(self, _context: Any, value: Any) -> TypeCheck:
        if isinstance(value, self.python_type):
            return _PASSED
        python_type = self.python_type
        if not isinstance(python_type, type):
            expected = _python_type_name(python_type)
        elif python_type.__module__ == "builtins":
            expected = python_type.__qualname__
        else:
            expected = f"{python_type.__module__}.{python_type.__qualname__}"
        return TypeCheck(
            False,
            f"Value of type {type(value)} failed type check for Dagster type "
            f"{self.display_name}, expected value to be of Python type {expected}.",
        )


# -- built-in types -------------------------------------------------------------------------


def _always(_context: Any, _value: Any) -> TypeCheck:
    return _PASSED


def _check_nothing(_context: Any, value: Any) -> TypeCheck:
    if value is None:
        return _PASSED
    return TypeCheck(False, f"Value must be None or unset, got a {type(value)}")


ANY = DagsterType(
    _always,
    name="Any",
    is_builtin=True,
    kind=DagsterTypeKind.ANY,
    typing_type=Any,
    loader=ScalarLoader(None, "Any"),
)
NOTHING = DagsterType(
    _check_nothing, name="Nothing", is_builtin=True, kind=DagsterTypeKind.NOTHING, typing_type=None
)
INT = DagsterType(
    _isinstance_check(int, "int"),
    name="Int",
    is_builtin=True,
    kind=DagsterTypeKind.SCALAR,
    typing_type=int,
    loader=ScalarLoader(int, "Int"),
)
FLOAT = DagsterType(
    _isinstance_check(float, "float"),
    name="Float",
    is_builtin=True,
    kind=DagsterTypeKind.SCALAR,
    typing_type=float,
    loader=ScalarLoader((float, int), "Float"),
)
STRING = DagsterType(
    _isinstance_check(str, "string"),
    name="String",
    is_builtin=True,
    kind=DagsterTypeKind.SCALAR,
    typing_type=str,
    loader=ScalarLoader(str, "String"),
)
BOOL = DagsterType(
    _isinstance_check(bool, "bool"),
    name="Bool",
    is_builtin=True,
    kind=DagsterTypeKind.SCALAR,
    typing_type=bool,
    loader=ScalarLoader(bool, "Bool"),
)
PYTHON_DICT = PythonObjectDagsterType(dict, name="dict", key="PythonDict", is_builtin=True)
PYTHON_SET = PythonObjectDagsterType(set, name="set", key="PythonSet", is_builtin=True)
PYTHON_TUPLE = PythonObjectDagsterType(tuple, name="tuple", key="PythonTuple", is_builtin=True)


# -- composite types (dg.List[int], dg.Optional[str], ...) ---------------------------------


class ListType(DagsterType):
    def __init__(self, inner: DagsterType) -> None:
        self.inner_type = inner
        super().__init__(
            self._check,
            key=f"List.{inner.key}",
            kind=DagsterTypeKind.LIST,
            typing_type=typing.List[inner.typing_type],  # type: ignore[name-defined]  # noqa: UP006
            loader=ListLoader(inner.loader) if inner.loader is not None else None,
        )
        self.required_resource_keys |= inner.required_resource_keys

    @property
    def display_name(self) -> str:
        return f"[{self.inner_type.display_name}]"

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return (self.inner_type, *self.inner_type.inner_types)

    @property
    def supports_fan_in(self) -> bool:
        return True

    def _check(self, context: Any, value: Any) -> TypeCheck:
        if not isinstance(value, list):
            return _not_of_type(value, "list")
        for item in value:
            result = self.inner_type.type_check(context, item)
            if not result.success:
                return result
        return _PASSED


class OptionalType(DagsterType):
    def __init__(self, inner: DagsterType) -> None:
        self.inner_type = inner
        super().__init__(
            self._check,
            key=f"Optional.{inner.key}",
            kind=DagsterTypeKind.NULLABLE,
            typing_type=typing.Optional[inner.typing_type],  # type: ignore[name-defined]  # noqa: UP045
            loader=OptionalLoader(inner.loader) if inner.loader is not None else None,
        )
        self.required_resource_keys |= inner.required_resource_keys

    @property
    def display_name(self) -> str:
        return f"{self.inner_type.display_name}?"

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return (self.inner_type, *self.inner_type.inner_types)

    def _check(self, context: Any, value: Any) -> TypeCheck:
        return _PASSED if value is None else self.inner_type.type_check(context, value)


class _TypedDict(DagsterType):
    def __init__(self, key_type: DagsterType, value_type: DagsterType) -> None:
        self.key_type = key_type
        self.value_type = value_type
        super().__init__(
            self._check,
            key=f"TypedPythonDict.{key_type.key}.{value_type.key}",
            name=None,
            typing_type=typing.Dict[key_type.typing_type, value_type.typing_type],  # type: ignore[name-defined]  # noqa: UP006
        )

    @property
    def display_name(self) -> str:
        return f"Dict[{self.key_type.display_name},{self.value_type.display_name}]"

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return (self.key_type, self.value_type)

    def _check(self, context: Any, value: Any) -> TypeCheck:
        if not isinstance(value, dict):
            return TypeCheck(False, f"Value should be a dict, got a {type(value)}")
        for key, item in value.items():
            for dagster_type, part in ((self.key_type, key), (self.value_type, item)):
                result = dagster_type.type_check(context, part)
                if not result.success:
                    return result
        return _PASSED


class _TypedSet(DagsterType):
    def __init__(self, item_type: DagsterType) -> None:
        self.item_type = item_type
        super().__init__(
            self._check,
            key=f"TypedPythonSet.{item_type.key}",
            typing_type=typing.Set[item_type.typing_type],  # type: ignore[name-defined]  # noqa: UP006
        )

    @property
    def display_name(self) -> str:
        return f"Set[{self.item_type.display_name}]"

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return (self.item_type,)

    def _check(self, context: Any, value: Any) -> TypeCheck:
        if not isinstance(value, set):
            return TypeCheck(False, f"Value should be a set, got a {type(value)}")
        for item in value:
            result = self.item_type.type_check(context, item)
            if not result.success:
                return result
        return _PASSED


class _TypedTuple(DagsterType):
    def __init__(self, item_types: tuple[DagsterType, ...]) -> None:
        self.item_types = item_types
        super().__init__(
            self._check,
            key="TypedPythonTuple" + ".".join(t.key for t in item_types),
            typing_type=typing.Tuple[tuple(t.typing_type for t in item_types)],  # type: ignore[misc]  # noqa: UP006
        )

    @property
    def display_name(self) -> str:
        return "Tuple[" + ",".join(t.display_name for t in self.item_types) + "]"

    @property
    def inner_types(self) -> tuple[DagsterType, ...]:
        return self.item_types

    def _check(self, context: Any, value: Any) -> TypeCheck:
        if not isinstance(value, tuple):
            return TypeCheck(False, f"Value should be a tuple, got a {type(value)}")
        if len(value) != len(self.item_types):
            return TypeCheck(
                False,
                f"Tuple with key {self.key} requires {len(self.item_types)} entries, received "
                f"{len(value)} values",
            )
        for dagster_type, item in zip(self.item_types, value, strict=True):
            result = dagster_type.type_check(context, item)
            if not result.success:
                return result
        return _PASSED


class _TypeApi:
    """`dg.List`, `dg.Dict`, ...: subscript for a typed version (`dg.List[int]`)."""

    def __init__(self, name: str, build: Callable[[Any], DagsterType], bare: DagsterType | None):
        self._name = name
        self._build = build
        self.bare_type = bare

    def __getitem__(self, params: Any) -> DagsterType:
        return self._build(params)

    def __repr__(self) -> str:
        return f"dg.{self._name}"


def _params(params: Any, count: int | None, api: str) -> tuple[DagsterType, ...]:
    items = params if isinstance(params, tuple) else (params,)
    if count is not None and len(items) != count:
        raise InvalidDefinitionError(f"dg.{api}[...] takes {count} type(s); got {len(items)}.")
    return tuple(resolve_dagster_type(item) for item in items)


def _optional(params: Any) -> DagsterType:
    (inner,) = _params(params, 1, "Optional")
    return inner if inner.kind is DagsterTypeKind.NULLABLE else OptionalType(inner)


List = _TypeApi("List", lambda p: ListType(_params(p, 1, "List")[0]), None)
Optional = _TypeApi("Optional", _optional, None)
Dict = _TypeApi("Dict", lambda p: _TypedDict(*_params(p, 2, "Dict")), PYTHON_DICT)
Set = _TypeApi("Set", lambda p: _TypedSet(_params(p, 1, "Set")[0]), PYTHON_SET)
Tuple = _TypeApi("Tuple", lambda p: _TypedTuple(_params(p, None, "Tuple")), PYTHON_TUPLE)
List.bare_type = ListType(ANY)


# -- from annotations -----------------------------------------------------------------------

_BY_PYTHON_TYPE: dict[Any, DagsterType] = {
    int: INT,
    float: FLOAT,
    str: STRING,
    bool: BOOL,
    Nothing: NOTHING,
    dict: PYTHON_DICT,
    set: PYTHON_SET,
    tuple: PYTHON_TUPLE,
    list: List.bare_type,
    object: ANY,
}
# Classes registered with `usable_as_dagster_type` / `make_python_type_usable_as_dagster_type`.
_REGISTERED: dict[type, DagsterType] = {}
# Classes met as annotations, each given one inferred type.
_INFERRED: dict[type, DagsterType] = {}


def resolve_dagster_type(annotation: Any) -> DagsterType:
    """The type an `In`/`Out` declaration or a Python annotation stands for (`ANY` if none)."""
    if (
        annotation is None
        or annotation is Any
        or annotation is inspect.Parameter.empty
        or isinstance(annotation, str | TypeVar)
    ):
        return ANY
    if isinstance(annotation, DagsterType):
        return annotation
    if isinstance(annotation, _TypeApi):
        if annotation.bare_type is None:
            raise InvalidDefinitionError(
                f"{annotation!r} needs a type parameter, e.g. {annotation!r}[int]."
            )
        return annotation.bare_type
    if isinstance(annotation, type):
        registered = _REGISTERED.get(annotation)
        if registered is not None:
            return registered
        known = _BY_PYTHON_TYPE.get(annotation)
        if known is not None:
            return known
        inferred = _INFERRED.get(annotation)
        if inferred is None:
            inferred = _INFERRED[annotation] = PythonObjectDagsterType(
                annotation,
                key=f"_TypeHintInferred[{annotation.__module__}.{annotation.__qualname__}]",
            )
        return inferred
    return _from_typing(annotation)


def _from_typing(annotation: Any) -> DagsterType:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(rest) < len(args):
            return _optional(rest[0])
        # The reference refuses other unions; here they are accepted and not checked.
        return ANY
    if origin is list:
        return ListType(resolve_dagster_type(args[0])) if args else List.bare_type  # type: ignore[return-value]
    if origin is dict:
        return _TypedDict(*map(resolve_dagster_type, args)) if len(args) == 2 else PYTHON_DICT
    if origin is set:
        return _TypedSet(resolve_dagster_type(args[0])) if args else PYTHON_SET
    if origin is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return PYTHON_TUPLE
        return _TypedTuple(tuple(map(resolve_dagster_type, args)))
    if origin is typing.Annotated:
        return resolve_dagster_type(args[0])
    # Other typing forms (Iterator[...], Callable, Literal, ...) are not checked.
    return ANY


def python_type_is_registered(python_type: type) -> bool:
    return python_type in _REGISTERED


def make_python_type_usable_as_dagster_type(python_type: type, dagster_type: DagsterType) -> None:
    """Make an annotation of `python_type` stand for `dagster_type` from now on."""
    if not isinstance(python_type, type):
        raise InvalidDefinitionError(
            f"make_python_type_usable_as_dagster_type: python_type must be a class; got "
            f"{python_type!r}."
        )
    if not isinstance(dagster_type, DagsterType):
        raise InvalidDefinitionError(
            f"make_python_type_usable_as_dagster_type: dagster_type must be a DagsterType; got "
            f"{dagster_type!r}."
        )
    existing = _REGISTERED.get(python_type)
    if existing is not None and existing is not dagster_type:
        raise InvalidDefinitionError(
            f"A Dagster type for the Python type {python_type.__name__} is already registered "
            f"({existing.display_name}); a class can stand for one Dagster type only."
        )
    _REGISTERED[python_type] = dagster_type


def usable_as_dagster_type(
    name: str | type | None = None,
    description: str | None = None,
    loader: Any = None,
) -> Any:
    """Class decorator: annotations of the class stand for a PythonObjectDagsterType of it."""

    def register(cls: T_Type) -> T_Type:
        make_python_type_usable_as_dagster_type(
            cls,
            PythonObjectDagsterType(
                cls,
                name=name if isinstance(name, str) else cls.__name__,
                description=description,
                loader=loader,
            ),
        )
        return cls

    if isinstance(name, type):
        return register(name)
    return register


def check_dagster_type(dagster_type: Any, value: Any) -> TypeCheck:
    """Check `value` against a Dagster type (or a class) outside any run, as in a test."""
    if typing.get_origin(dagster_type) is not None:
        raise InvalidDefinitionError(
            f"check_dagster_type: pass a type from kubedag (dg.List[int], dg.Optional[str], ...) "
            f"or a class; got {dagster_type!r}, a form of Python's typing module."
        )
    resolved = resolve_dagster_type(dagster_type)
    return resolved.type_check(TypeCheckContext.ephemeral(), value)


# -- what an op's inputs and outputs declare --------------------------------------------------


def is_nothing_type(declared: Any) -> bool:
    """`dg.Nothing` (or the Nothing DagsterType): an input or output that carries no value."""
    return declared is Nothing or declared is NOTHING


def _output_annotation(annotation: Any) -> Any:
    """What a return annotation says of the value: `Output[int]` is `int`; kubedag's result
    classes (`Output`, `MaterializeResult`, ...) say nothing of it."""
    origin = typing.get_origin(annotation)
    if origin is not None and getattr(origin, "__module__", "").startswith("kubedag."):
        args = typing.get_args(annotation)
        return args[0] if args else None
    if isinstance(annotation, type) and annotation.__module__.startswith("kubedag."):
        return None
    return annotation


def _resolved(annotation: Any, owner: str, what: str) -> DagsterType:
    try:
        return resolve_dagster_type(annotation)
    except InvalidDefinitionError as exc:
        raise InvalidDefinitionError(f"{owner}, {what}: {exc}") from None


def declared_types(
    input_defs: Sequence[InputDef], output_defs: Sequence[OutputDef], owner: str
) -> tuple[dict[str, DagsterType], dict[str, DagsterType]]:
    """The Dagster types of the inputs and outputs that have one, by name. Untyped (`Any`) and
    Nothing ones are left out, so execution checks nothing for them. A default value must pass
    its input's type check."""
    inputs: dict[str, DagsterType] = {}
    for input_def in input_defs:
        if input_def.is_nothing:
            continue
        dagster_type = _resolved(input_def.annotation, owner, f"input '{input_def.name}'")
        if dagster_type.is_any or dagster_type.is_nothing:
            continue
        inputs[input_def.name] = dagster_type
        if input_def.has_default:
            result = dagster_type.type_check(TypeCheckContext.ephemeral(), input_def.default)
            if not result.success:
                raise InvalidDefinitionError(
                    f"{owner}: the default value of input '{input_def.name}' fails its type "
                    f"check (type {dagster_type.display_name}): got {input_def.default!r} of "
                    f"type {type(input_def.default).__name__}. {result.description or ''}".strip()
                )
    outputs: dict[str, DagsterType] = {}
    for output_def in output_defs:
        if output_def.is_nothing:
            continue
        annotation = _output_annotation(output_def.annotation)
        dagster_type = _resolved(annotation, owner, f"output '{output_def.name}'")
        if dagster_type.is_any or dagster_type.is_nothing:
            continue
        outputs[output_def.name] = dagster_type
    return inputs, outputs


def with_asset_in_types(signature: FunctionSignature, ins: Mapping[str, Any]) -> FunctionSignature:
    """The signature with each input's type taken from its `AssetIn(dagster_type=...)`."""
    typed = {name: a.dagster_type for name, a in ins.items() if a.dagster_type is not None}
    if not typed:
        return signature
    inputs = tuple(
        dataclasses.replace(i, annotation=typed[i.name]) if i.name in typed else i
        for i in signature.inputs
    )
    return dataclasses.replace(signature, inputs=inputs)
