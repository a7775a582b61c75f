"""The config schema of the reference (`Field`, `Shape`, `Selector`, `Array`, ...): what a
definition's `config_schema=` may say, and the checking of a value against it.

A schema is written with Python types and a few config types: `{"rows": int}` is a `Shape` of one
required `Int` field, `Field(str, default_value="x")` an optional string that falls back to "x",
`[int]` an `Array` of ints, `dict` any mapping, `StringSource` a string or `{"env": "VAR"}`.
`resolve_field` turns such a description into a `Field` whose `config_type` can `process` a
value: the value comes back with defaults filled in, environment variables read and enum names
turned into their Python values, and every problem is added to a `ConfigCheck` with the dotted
path of the value at fault (`ops.load.config.rows`), so one run of the checker reports them all.

Written only with the standard library, so a job whose ops use plain schemas never imports
pydantic; a pydantic `Config` class used as a schema is checked by pydantic when it is met.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from kubedag.config.config_errors import ConfigCheck, config_error
from kubedag.errors import InvalidConfigDefinitionError, InvalidConfigError

# The reference spells its scalar config types as the Python types themselves.
Int = int
Float = float
String = str
Bool = bool


class _NotGiven:
    """The marker for "no value": a field left out, a `Field` without a default."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()


def _shown(path: str, value: Any) -> str:
    from kubedag.config.suggestions import shown_value

    return shown_value(path, value)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


# -- config types ---------------------------------------------------------------------------------
class ConfigType:
    """A kind of config value. Subclasses say how a value is checked and shown."""

    description: str | None = None

    @property
    def type_name(self) -> str:
        """How the type reads in a message: `Int`, `[String]`, `{ rows: Int label?: String }`."""
        raise NotImplementedError

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        """The value with defaults filled in; problems go to `check`."""
        raise NotImplementedError

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        """What a left-out value of this type becomes when nothing is given (`NOT_GIVEN`: the
        value is required, unless its `Field` says otherwise)."""
        return NOT_GIVEN

    def example(self) -> Any:
        """A value to show in the message for a missing entry."""
        return "..."

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.type_name})"

    def _not_none(self, value: Any, path: str, check: ConfigCheck) -> bool:
        if value is None:
            check.add(path, f"must not be None; expected {self.type_name}.")
            return False
        return True


class ScalarType(ConfigType):
    """`Int`, `Float`, `String`, `Bool`: a Python scalar of that type (a bool is not an Int)."""

    def __init__(self, name: str, python_type: type, example: Any) -> None:
        self.name = name
        self.python_type = python_type
        self._example = example

    @property
    def type_name(self) -> str:
        return self.name

    def accepts(self, value: Any) -> bool:
        if self.python_type is float:  # the reference takes an int (and a bool) for a Float
            return isinstance(value, int | float)
        if self.python_type is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, self.python_type)

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if not self._not_none(value, path, check):
            return value
        if not self.accepts(value):
            check.add(path, f"expected {self.name}, got {_shown(path, value)}.")
            return value
        return float(value) if self.python_type is float else value

    def example(self) -> Any:
        return self._example


class AnyType(ConfigType):
    """`Any`: every value, `None` included."""

    @property
    def type_name(self) -> str:
        return "Any"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        return value


INT = ScalarType("Int", int, 0)
FLOAT = ScalarType("Float", float, 0.0)
STRING = ScalarType("String", str, "...")
BOOL = ScalarType("Bool", bool, True)
ANY = AnyType()


class Noneable(ConfigType):
    """`Noneable(int)`: the inner type or `None`; a left-out value becomes `None`."""

    def __init__(self, inner_type: Any) -> None:
        self.inner_type = resolve_type(inner_type)

    @property
    def type_name(self) -> str:
        return f"{self.inner_type.type_name}?"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        return None if value is None else self.inner_type.process(value, path, check)

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        return None

    def example(self) -> Any:
        return None


class Array(ConfigType):
    """`Array(int)` or `[int]`: a list whose items are all of the inner type."""

    def __init__(self, inner_type: Any) -> None:
        self.inner_type = resolve_type(inner_type)

    @property
    def type_name(self) -> str:
        return f"[{self.inner_type.type_name}]"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if not self._not_none(value, path, check):
            return value
        if not isinstance(value, list | tuple):
            check.add(path, f"expected a list {self.type_name}, got {_shown(path, value)}.")
            return value
        inner = self.inner_type
        return [inner.process(item, f"{path}[{i}]", check) for i, item in enumerate(value)]

    def example(self) -> Any:
        return []


class Map(ConfigType):
    """`Map(str, int)`: a mapping with keys of a scalar type and values of another type."""

    def __init__(self, key_type: Any, inner_type: Any, key_label_name: str | None = None) -> None:
        key = resolve_type(key_type)
        if not isinstance(key, ScalarType):
            raise InvalidConfigDefinitionError(
                f"Map: the key type must be a scalar (str, int, float or bool); got {key_type!r}."
            )
        self.key_type = key
        self.inner_type = resolve_type(inner_type)
        self.key_label_name = key_label_name

    @property
    def type_name(self) -> str:
        return f"{{ [{self.key_type.type_name}]: {self.inner_type.type_name} }}"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if not self._not_none(value, path, check):
            return value
        if not isinstance(value, Mapping):
            check.add(path, f"expected a mapping {self.type_name}, got {_shown(path, value)}.")
            return value
        result = {}
        for key, item in value.items():
            where = _join(path, key)
            if not self.key_type.accepts(key):
                check.add(
                    where,
                    f"the key {key!r} is not of type {self.key_type.type_name}, as this map's "
                    "keys must be.",
                )
            result[key] = self.inner_type.process(item, where, check)
        return result

    def example(self) -> Any:
        return {}


class Field:
    """`Field(int, default_value=3, is_required=False, description="...")`: a config type with
    whether it must be given, what it falls back to, and what it is for."""

    def __init__(
        self,
        config: Any,
        default_value: Any = NOT_GIVEN,
        is_required: bool | None = None,
        description: str | None = None,
        is_secret: bool = False,
    ) -> None:
        if isinstance(config, Field):
            raise InvalidConfigDefinitionError("Field: give a config type, not another Field.")
        self.config_type = resolve_type(config, "", config)
        self.description = description
        self.is_secret = is_secret
        self._default = default_value
        if is_required and default_value is not NOT_GIVEN:
            raise InvalidConfigDefinitionError(
                "Field: a required field cannot have a default_value; drop is_required=True or "
                "the default."
            )
        if default_value is not NOT_GIVEN and not callable(default_value):
            check = ConfigCheck(resolve_env=False)
            self.config_type.process(default_value, "", check)
            if check.errors:
                problems = "; ".join(error.message for error in check.errors)
                raise InvalidConfigError(
                    f"Field: invalid default_value {default_value!r} for type "
                    f"{self.config_type.type_name}: {problems}",
                    check.errors,
                    default_value,
                )
        if is_required is None:
            implicit = self.config_type.implicit_default("", ConfigCheck(resolve_env=False))
            is_required = default_value is NOT_GIVEN and implicit is NOT_GIVEN
        self.is_required = is_required

    @property
    def default_provided(self) -> bool:
        return self._default is not NOT_GIVEN

    @property
    def default_value(self) -> Any:
        if self._default is NOT_GIVEN:
            raise InvalidConfigDefinitionError("Field: this field has no default_value.")
        return self._default() if callable(self._default) else self._default

    @property
    def type_name(self) -> str:
        return self.config_type.type_name

    def value_when_left_out(self, path: str, check: ConfigCheck) -> Any:
        """The default (checked, so nested defaults are filled in), else what the type becomes
        when left out, else `NOT_GIVEN`."""
        if self.default_provided:
            return self.config_type.process(self.default_value, path, check)
        return self.config_type.implicit_default(path, check)

    def process_root(self, value: Any, path: str, check: ConfigCheck) -> Any:
        """A definition's whole config: `None` means left out."""
        if value is None:
            left_out = self.value_when_left_out(path, check)
            if left_out is not NOT_GIVEN:
                return left_out
            if self.is_required:
                check.add(
                    path,
                    f"required ({self.type_name}) but not given; for example "
                    f"{self.config_type.example()!r}.",
                    "MISSING_REQUIRED_FIELD",
                )
            return None
        return self.config_type.process(value, path, check)

    def __repr__(self) -> str:
        default = f", default={self._default!r}" if self.default_provided else ""
        return f"Field({self.type_name}{default}, is_required={self.is_required})"


class _Fields(ConfigType):
    """What `Shape`, `Permissive` and `Selector` share: named fields."""

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        description: str | None = None,
        field_aliases: Mapping[str, str] | None = None,
    ) -> None:
        if fields is not None and not isinstance(fields, Mapping):
            raise InvalidConfigDefinitionError(
                f"{type(self).__name__}: fields must be a dict of name -> Field or type; got "
                f"{fields!r}."
            )
        self.fields: dict[str, Field] = {
            name: _as_field(sub, name, fields) for name, sub in (fields or {}).items()
        }
        self.description = description
        self.field_aliases = dict(field_aliases or {})

    @property
    def type_name(self) -> str:
        parts = [
            f"{name}{'' if field.is_required else '?'}: {field.type_name}"
            for name, field in sorted(self.fields.items())
        ]
        return "{ " + " ".join(parts) + (" }" if parts else "}")

    def _mapping(self, value: Any, path: str, check: ConfigCheck) -> Mapping[str, Any] | None:
        if not self._not_none(value, path, check):
            return None
        if not isinstance(value, Mapping):
            check.add(path, f"expected a mapping {self.type_name}, got {_shown(path, value)}.")
            return None
        given: Mapping[str, Any] = value
        if self.field_aliases:
            given = {self.field_aliases.get(k, k): v for k, v in given.items()}
        return given

    def _unexpected(self, key: Any, path: str, check: ConfigCheck) -> None:
        from kubedag.config.suggestions import did_you_mean

        known = sorted(self.fields)
        fields = f"its fields: {', '.join(known)}" if known else "it has no fields"
        check.add(
            _join(path, key),
            f"unexpected config entry ({fields}).{did_you_mean(key, known)}",
            "FIELD_NOT_DEFINED",
        )

    def _fill(self, given: Mapping[str, Any], path: str, check: ConfigCheck) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, field in self.fields.items():
            where = _join(path, name)
            if name in given:
                result[name] = field.config_type.process(given[name], where, check)
                continue
            left_out = field.value_when_left_out(where, check)
            if left_out is not NOT_GIVEN:
                result[name] = left_out
            elif field.is_required:
                check.add(
                    where,
                    f"missing required config entry '{name}' of type {field.type_name}; for "
                    "example "
                    f"{ {name: field.config_type.example()}!r}.",
                    "MISSING_REQUIRED_FIELD",
                )
        return result

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        if any(field.is_required for field in self.fields.values()):
            return NOT_GIVEN
        return self.process({}, path, check)

    def example(self) -> Any:
        return {
            name: field.config_type.example()
            for name, field in self.fields.items()
            if field.is_required
        }


class Shape(_Fields):
    """`Shape({"rows": int})` (or the dict itself): a mapping with exactly these fields."""

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        given = self._mapping(value, path, check)
        if given is None:
            return value
        for key in given:
            if key not in self.fields:
                self._unexpected(key, path, check)
        return self._fill(given, path, check)


class Permissive(_Fields):
    """`Permissive({"rows": int})`: these fields are checked, any others kept as given."""

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        given = self._mapping(value, path, check)
        if given is None:
            return value
        extra = {k: v for k, v in given.items() if k not in self.fields}
        return {**self._fill(given, path, check), **extra}


class Selector(_Fields):
    """`Selector({"in_memory": {}, "s3": {"bucket": str}})`: exactly one of the fields."""

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        given = self._mapping(value, path, check)
        if given is None:
            return value
        known = ", ".join(sorted(self.fields))
        if len(given) > 1:
            check.add(
                path,
                f"a selector takes exactly one of its fields ({known}); got "
                f"{', '.join(str(k) for k in given)}.",
                "SELECTOR_FIELD_ERROR",
            )
            return dict(given)
        if not given:
            only = self._only_default(path, check)
            if only is NOT_GIVEN:
                check.add(
                    path,
                    f"a selector takes exactly one of its fields ({known}); none was given.",
                    "SELECTOR_FIELD_ERROR",
                )
                return {}
            return only
        name, item = next(iter(given.items()))
        if name not in self.fields:
            self._unexpected(name, path, check)
            return dict(given)
        return {name: self.fields[name].config_type.process(item, _join(path, name), check)}

    def _only_default(self, path: str, check: ConfigCheck) -> Any:
        if len(self.fields) != 1:
            return NOT_GIVEN
        name, field = next(iter(self.fields.items()))
        left_out = field.value_when_left_out(_join(path, name), check)
        return NOT_GIVEN if left_out is NOT_GIVEN else {name: left_out}

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        return self._only_default(path, check)

    def example(self) -> Any:
        for name, field in self.fields.items():
            return {name: field.config_type.example()}
        return {}


class EnumValue:
    """One value of an `Enum`: its name in config, the Python value an op receives."""

    def __init__(
        self, config_value: str, python_value: Any = None, description: str | None = None
    ) -> None:
        if not isinstance(config_value, str):
            raise InvalidConfigDefinitionError(
                f"EnumValue: the config value must be a string; got {config_value!r}."
            )
        self.config_value = config_value
        self.python_value = config_value if python_value is None else python_value
        self.description = description

    def __repr__(self) -> str:
        return f"EnumValue({self.config_value!r})"


class Enum(ConfigType):
    """`Enum("Color", [EnumValue("RED"), EnumValue("BLUE", python_value=2)])`: one of these
    names in config; the op receives the value's `python_value`."""

    def __init__(self, name: str, enum_values: Sequence[EnumValue]) -> None:
        for value in enum_values:
            if not isinstance(value, EnumValue):
                raise InvalidConfigDefinitionError(
                    f"Enum '{name}': each value must be an EnumValue; got {value!r}."
                )
        self.given_name = name
        self.enum_values = list(enum_values)
        self._by_name = {value.config_value: value for value in self.enum_values}

    @classmethod
    def from_python_enum(cls, enum: Any) -> Enum:
        """The config enum of a Python `enum.Enum`: members by name, the member as value."""
        return cls(enum.__name__, [EnumValue(member.name, member) for member in enum])

    @classmethod
    def from_python_enum_direct_values(cls, enum: Any) -> Enum:
        """Like `from_python_enum`, but the op receives each member's `.value`."""
        return cls(enum.__name__, [EnumValue(member.name, member.value) for member in enum])

    @property
    def type_name(self) -> str:
        return self.given_name

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if not self._not_none(value, path, check):
            return value
        names = ", ".join(self._by_name)
        if not isinstance(value, str):
            check.add(path, f"a value of enum {self.given_name} ({names}) must be a string; got "
                      f"{_shown(path, value)}.")  # fmt: skip
            return value
        member = self._by_name.get(value)
        if member is None:
            from kubedag.config.suggestions import did_you_mean

            check.add(
                path,
                f"'{value}' is not a value of enum {self.given_name} ({names})."
                + did_you_mean(value, list(self._by_name)),
            )
            return value
        return member.python_value

    def example(self) -> Any:
        return self.enum_values[0].config_value if self.enum_values else "..."


class ScalarUnion(ConfigType):
    """`ScalarUnion(str, {"path": str})`: a scalar, or a value of the non-scalar schema."""

    def __init__(self, scalar_type: Any, non_scalar_schema: Any) -> None:
        scalar = resolve_type(scalar_type)
        if not isinstance(scalar, ScalarType):
            raise InvalidConfigDefinitionError(
                f"ScalarUnion: scalar_type must be int, float, str or bool; got {scalar_type!r}."
            )
        self.scalar_type = scalar
        self.non_scalar_type = resolve_type(non_scalar_schema)

    @property
    def type_name(self) -> str:
        return f"({self.scalar_type.type_name} | {self.non_scalar_type.type_name})"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if isinstance(value, str | int | float | bool):
            return self.scalar_type.process(value, path, check)
        if not self._not_none(value, path, check):
            return value
        return self.non_scalar_type.process(value, path, check)

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        return self.non_scalar_type.implicit_default(path, check)

    def example(self) -> Any:
        return self.scalar_type.example()


class SourceType(ConfigType):
    """`StringSource`, `IntSource`, `BoolSource`: a value, or `{"env": "VAR"}` (or an `EnvVar`)
    read from the environment when the run starts."""

    def __init__(self, scalar: ScalarType) -> None:
        self.scalar = scalar

    @property
    def type_name(self) -> str:
        return f"({self.scalar.type_name} | {{ env: String }})"

    def __repr__(self) -> str:
        return f"{self.scalar.type_name}Source"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        from kubedag.config.env_var import EnvVar

        if isinstance(value, EnvVar):
            value = {"env": value.env_var_name}
        if not isinstance(value, Mapping):
            return self.scalar.process(value, path, check)
        if set(value) != {"env"}:
            check.add(
                path,
                "an environment source takes exactly one field (env); got "
                f"{', '.join(str(k) for k in value) or 'none'}.",
                "SELECTOR_FIELD_ERROR",
            )
            return value
        name = value["env"]
        if not isinstance(name, str):
            check.add(_join(path, "env"), f"expected String, got {_shown(path, name)}.")
            return value
        if not check.resolve_env:
            return value
        text = os.environ.get(name)
        if text is None:
            check.add(
                path,
                f"read from environment variable {name}, which is not set. Set {name} in the "
                "environment of the run.",
                "ENV_VAR",
            )
            return value
        return self._cast(text, name, path, check)

    def _cast(self, text: str, name: str, path: str, check: ConfigCheck) -> Any:
        if self.scalar is INT:
            try:
                return int(text)
            except ValueError:
                check.add(
                    path,
                    f"environment variable {name} holds a value that cannot be read as an Int.",
                    "ENV_VAR",
                )
                return None
        if self.scalar is BOOL:
            return text.strip().casefold() not in ("false", "0", "")
        return text

    def example(self) -> Any:
        return self.scalar.example()


StringSource = SourceType(STRING)
IntSource = SourceType(INT)
BoolSource = SourceType(BOOL)


class ModelType(ConfigType):
    """A pydantic `Config` class used as a schema: checked by pydantic, given as the instance."""

    def __init__(self, model: type) -> None:
        self.model = model

    @property
    def type_name(self) -> str:
        return self.model.__name__

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if isinstance(value, self.model):
            return value
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            check.add(path, f"expected a mapping of {self.type_name} fields; got "
                      f"{type(value).__name__}.")  # fmt: skip
            return value
        from kubedag.config.config import check_model

        return check_model(self.model, dict(value), path, check)

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        fields = getattr(self.model, "model_fields", {})
        if any(field.is_required() for field in fields.values()):
            return NOT_GIVEN
        return self.process({}, path, check)


# -- resolving what a definition wrote ------------------------------------------------------------
_SCALARS: dict[Any, ScalarType] = {int: INT, float: FLOAT, str: STRING, bool: BOOL}


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and hasattr(value, "model_fields")


def resolve_type(schema: Any, path: str = "", original: Any = None) -> ConfigType:
    """The config type `schema` stands for: a `ConfigType`, `int`/`float`/`str`/`bool`,
    `list`/`dict`, `Any`, `[type]`, `{name: type or Field}`, or a pydantic `Config` class."""
    if isinstance(schema, ConfigType):
        return schema
    if isinstance(schema, type) and schema in _SCALARS:
        return _SCALARS[schema]
    if schema is Any:
        return ANY
    if schema is dict:
        return Permissive()
    if schema is list:
        return Array(ANY)
    if isinstance(schema, list):
        if len(schema) != 1:
            raise InvalidConfigDefinitionError(
                f"Error defining config at {path or 'the root'}: an array is written [type], "
                f"with one item type; got {schema!r}."
            )
        return Array(resolve_type(schema[0], f"{path}[0]", original))
    if isinstance(schema, Mapping):
        fields = {
            name: _as_field(sub, _join(path, name), original if original is not None else schema)
            for name, sub in schema.items()
        }
        return Shape(fields)
    if _is_model(schema):
        return ModelType(schema)
    raise InvalidConfigDefinitionError(
        f"Error defining config at {path or 'the root'}: {schema!r} cannot be used in a config "
        "schema. Use a Field, int, float, bool, str, list, dict, Any, a config type (Shape, "
        "Permissive, Selector, Array, Map, Noneable, Enum, ScalarUnion, StringSource, "
        "IntSource, BoolSource), a dict of these, or a dg.Config class"
        + (f" (in {original!r})." if original is not None and original is not schema else ".")
    )


def _as_field(schema: Any, path: str, original: Any) -> Field:
    if isinstance(schema, Field):
        return schema
    if not isinstance(path, str):
        raise InvalidConfigDefinitionError(f"config field names must be strings; got {path!r}.")
    return Field(resolve_type(schema, path, original))


def resolve_field(schema: Any) -> Field:
    """The root `Field` of a definition's `config_schema` (a `Field`, or what `Field` takes)."""
    return schema if isinstance(schema, Field) else Field(resolve_type(schema, "", schema))


def process_config(schema: Any, value: Any, path: str, check: ConfigCheck) -> Any:
    """Check a definition's whole config (`None`: not given) against its schema."""
    return resolved_field(schema).process_root(value, path, check)


_RESOLVED: dict[int, tuple[Any, Field]] = {}


def resolved_field(schema: Any) -> Field:
    """`resolve_field`, remembered per schema object: a run checks each op's config once, but
    the same definitions are run many times."""
    if isinstance(schema, Field):
        return schema
    known = _RESOLVED.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    field = resolve_field(schema)
    if len(_RESOLVED) > 4096:
        _RESOLVED.clear()
    _RESOLVED[id(schema)] = (schema, field)
    return field


def check_value(schema: Any, value: Any, path: str) -> Any:
    """Check `value` against `schema`, raising `InvalidConfigError` with every problem."""
    check = ConfigCheck()
    processed = process_config(schema, value, path, check)
    if check.errors:
        raise config_error(check.errors, f"Invalid config at {path}", value)
    return processed


class _ConfigSchemaMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        try:
            resolve_field(instance)
        except InvalidConfigDefinitionError:
            return False
        return True


class ConfigSchema(metaclass=_ConfigSchemaMeta):
    """What `config_schema=` takes, as a type for annotations: a Python scalar type (`int`,
    `float`, `bool`, `str`), `list` or `dict`, a config type (`Any`, `Array`, `Enum`, `Map`,
    `Noneable`, `Permissive`, `ScalarUnion`, `Selector`, `Shape`, `StringSource`, ...), a dict of
    field name -> any of these or a `Field`, or a `Field`. `isinstance(x, ConfigSchema)` says
    whether `x` is one."""
