"""The reference's legacy config schema: Field, Shape, Permissive, Selector, Noneable, Array, Map,
Enum, ScalarUnion, scalar types and environment sources, checked through a job's run config."""

from __future__ import annotations

import enum
from typing import Any

import pytest

import kubedag as dg


def _processed(schema: Any, config: Any = None) -> Any:
    """What `context.op_config` would be for an op with `schema` given `config` (None: left out)."""

    @dg.op(config_schema=schema)
    def probe(context: dg.OpExecutionContext) -> Any:
        return context.op_config

    @dg.job
    def probing() -> None:
        probe()

    run_config = {} if config is None else {"ops": {"probe": {"config": config}}}
    return dg.validate_run_config(probing, run_config)["ops"]["probe"]["config"]


def _problems(schema: Any, config: Any = None) -> list[tuple[str, str]]:
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        _processed(schema, config)
    return [(error.path, error.message) for error in raised.value.errors]


def test_scalar_types_are_the_python_types() -> None:
    assert (dg.Int, dg.Float, dg.String, dg.Bool) == (int, float, str, bool)
    assert _processed({"n": dg.Int, "x": float, "s": str, "b": bool}, {
        "n": 1, "x": 2, "s": "a", "b": False
    }) == {"n": 1, "x": 2.0, "s": "a", "b": False}  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (int, True, "probe.config: expected Int, got bool True."),
        (bool, 1, "probe.config: expected Bool, got int 1."),
        (str, 1, "probe.config: expected String, got int 1."),
        (float, "1.5", "probe.config: expected Float, got str '1.5'."),
    ],
)
def test_scalar_mismatch_names_the_type_and_value(schema: Any, value: Any, expected: str) -> None:
    assert _problems(schema, value) == [("ops.probe.config", f"ops.{expected}")]


def test_field_defaults_are_filled_in_at_every_depth() -> None:
    schema = {
        "rows": dg.Field(int, default_value=10, description="how many"),
        "nested": {"label": dg.Field(str, default_value="x"), "extra": dg.Field(int, is_required=False)},
        "items": dg.Field([{"w": dg.Field(int, default_value=1)}], is_required=False),
        "maybe": dg.Noneable(int),
    }  # fmt: skip
    assert _processed(schema) == {"rows": 10, "nested": {"label": "x"}, "maybe": None}
    assert _processed(schema, {"items": [{}, {"w": 3}], "rows": 2}) == {
        "rows": 2,
        "nested": {"label": "x"},
        "items": [{"w": 1}, {"w": 3}],
        "maybe": None,
    }


def test_field_is_required_follows_from_default_and_type() -> None:
    assert dg.Field(int).is_required
    assert not dg.Field(int, default_value=3).is_required
    assert not dg.Field(dg.Noneable(int)).is_required
    assert not dg.Field({"a": dg.Field(int, default_value=1)}).is_required
    assert dg.Field([int]).is_required
    field = dg.Field(int, default_value=3, description="d")
    assert (field.default_provided, field.default_value, field.description) == (True, 3, "d")
    assert not dg.Field(int).default_provided


def test_root_field_with_default() -> None:
    assert _processed(dg.Field(int, default_value=4)) == 4
    assert _processed(dg.Field(int, default_value=4), 5) == 5


def test_shape_rejects_unknown_keys_and_names_missing_ones() -> None:
    problems = _problems(dg.Shape({"rows": int, "label": str}), {"rowz": 1, "label": "a"})
    assert problems == [
        (
            "ops.probe.config.rowz",
            "ops.probe.config.rowz: unexpected config entry (its fields: label, rows). "
            "Did you mean 'rows'?",
        ),
        (
            "ops.probe.config.rows",
            "ops.probe.config.rows: missing required config entry 'rows' of type Int; for "
            "example {'rows': 0}.",
        ),
    ]


def test_permissive_keeps_unknown_keys_and_checks_known_ones() -> None:
    assert _processed(dg.Permissive({"a": int}), {"a": 1, "zz": [3]}) == {"a": 1, "zz": [3]}
    assert _processed(dict, {"any": "thing"}) == {"any": "thing"}
    assert _problems(dg.Permissive({"a": int}), {"zz": 1}) == [
        (
            "ops.probe.config.a",
            "ops.probe.config.a: missing required config entry 'a' of type Int; for example "
            "{'a': 0}.",
        )
    ]


def test_selector_takes_exactly_one_field() -> None:
    schema = dg.Selector({"local": {"path": str}, "s3": {"bucket": str}})
    assert _processed(schema, {"s3": {"bucket": "b"}}) == {"s3": {"bucket": "b"}}
    assert _problems(schema, {"local": {"path": "p"}, "s3": {"bucket": "b"}}) == [
        (
            "ops.probe.config",
            "ops.probe.config: a selector takes exactly one of its fields (local, s3); got "
            "local, s3.",
        )
    ]
    assert _problems(schema, {})[0][1].endswith("none was given.")
    only = dg.Selector({"local": dg.Field({"path": str}, default_value={"path": "/tmp"})})
    assert _processed({"where": only}, {}) == {"where": {"local": {"path": "/tmp"}}}


def test_noneable_array_and_map() -> None:
    assert _processed({"a": dg.Noneable(int)}, {"a": None}) == {"a": None}
    assert _problems({"a": int}, {"a": None}) == [
        ("ops.probe.config.a", "ops.probe.config.a: must not be None; expected Int.")
    ]
    assert _processed(dg.Array(str), ["a", "b"]) == ["a", "b"]
    assert _processed(list, [1, "x"]) == [1, "x"]
    assert _problems([int], [1, "two"]) == [
        ("ops.probe.config[1]", "ops.probe.config[1]: expected Int, got str 'two'.")
    ]
    assert _processed(dg.Map(str, int), {"a": 1}) == {"a": 1}
    assert [path for path, _ in _problems(dg.Map(str, int), {"a": 1, "b": "x"})] == [
        "ops.probe.config.b"
    ]
    assert "is not of type Int" in _problems(dg.Map(int, int), {"a": 1})[0][1]


def test_enum_gives_python_values() -> None:
    colors = dg.Enum("Color", [dg.EnumValue("RED"), dg.EnumValue("BLUE", python_value=2)])
    assert _processed({"c": colors}, {"c": "BLUE"}) == {"c": 2}
    assert _processed({"c": colors}, {"c": "RED"}) == {"c": "RED"}
    message = _problems({"c": colors}, {"c": "GREEN"})[0][1]
    assert message == "ops.probe.config.c: 'GREEN' is not a value of enum Color (RED, BLUE)."

    class Size(enum.Enum):
        SMALL = 1
        LARGE = 2

    assert _processed(dg.Enum.from_python_enum(Size), "LARGE") is Size.LARGE


def test_scalar_union() -> None:
    schema = dg.ScalarUnion(str, {"path": str, "mode": dg.Field(str, default_value="r")})
    assert _processed(schema, "plain") == "plain"
    assert _processed(schema, {"path": "p"}) == {"path": "p", "mode": "r"}
    assert _problems(schema, 3) == [("ops.probe.config", "ops.probe.config: expected String, got int 3.")]  # fmt: skip


def test_sources_read_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFG_NAME", "alice")
    monkeypatch.setenv("CFG_COUNT", "7")
    monkeypatch.setenv("CFG_FLAG", "false")
    monkeypatch.delenv("CFG_UNSET", raising=False)
    schema = {"name": dg.StringSource, "count": dg.IntSource, "flag": dg.BoolSource}
    env = {"name": {"env": "CFG_NAME"}, "count": {"env": "CFG_COUNT"}, "flag": {"env": "CFG_FLAG"}}
    assert _processed(schema, env) == {"name": "alice", "count": 7, "flag": False}
    assert _processed(schema, {"name": "bob", "count": 1, "flag": True}) == {
        "name": "bob",
        "count": 1,
        "flag": True,
    }
    problems = _problems(
        schema, {**env, "name": {"env": "CFG_UNSET"}, "count": {"env": "CFG_NAME"}}
    )
    assert problems == [
        (
            "ops.probe.config.name",
            "ops.probe.config.name: read from environment variable CFG_UNSET, which is not set. "
            "Set CFG_UNSET in the environment of the run.",
        ),
        (
            "ops.probe.config.count",
            "ops.probe.config.count: environment variable CFG_NAME holds a value that cannot be "
            "read as an Int.",
        ),
    ]


def test_env_var_object_is_a_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFG_TOKEN", "t0k")
    assert _processed({"token": dg.StringSource}, {"token": dg.EnvVar("CFG_TOKEN")}) == {
        "token": "t0k"
    }


def test_every_problem_is_listed_with_its_path() -> None:
    schema = {
        "n": int,
        "arr": [int],
        "sel": dg.Selector({"a": int, "b": int}),
        "src": dg.StringSource,
    }
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        _processed(schema, {"n": "x", "arr": ["a"], "sel": {"a": 1, "b": 2}, "bogus": 1})
    paths = sorted(error.path for error in raised.value.errors)
    assert paths == [
        "ops.probe.config.arr[0]",
        "ops.probe.config.bogus",
        "ops.probe.config.n",
        "ops.probe.config.sel",
        "ops.probe.config.src",
    ]
    message = str(raised.value)
    assert message.startswith("Invalid run config for job 'probing' (5 errors):\n")
    for path in paths:
        assert f"\n  {path}: " in message
    assert {error.reason for error in raised.value.errors} == {
        "FIELD_NOT_DEFINED",
        "MISSING_REQUIRED_FIELD",
        "RUNTIME_TYPE_MISMATCH",
        "SELECTOR_FIELD_ERROR",
    }


def test_kubedag_invalid_config_error_is_the_reference_one() -> None:
    assert dg.DagsterInvalidConfigError is dg.InvalidConfigError
    assert issubclass(dg.EnvVarNotSetError, dg.DagsterInvalidConfigError)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: dg.Field(object), "<class 'object'> cannot be used in a config schema"),
        (lambda: dg.Shape({"a": object}), "Error defining config at a"),
        (lambda: dg.Field({"a": 3}), "Error defining config at a: 3 cannot be used"),
        (lambda: dg.Field([int, str]), "an array is written [type]"),
        (lambda: dg.Map(dict, int), "the key type must be a scalar"),
        (lambda: dg.Field(int, default_value=3, is_required=True), "cannot have a default_value"),
        (lambda: dg.Enum("E", ["a"]), "each value must be an EnumValue"),
        (lambda: dg.ScalarUnion({"a": int}, int), "scalar_type must be"),
    ],
)
def test_invalid_schema_definitions(make: Any, words: str) -> None:
    with pytest.raises(dg.DagsterInvalidConfigDefinitionError) as raised:
        make()
    assert words in str(raised.value)


def test_invalid_config_definition_is_an_invalid_definition() -> None:
    with pytest.raises(dg.InvalidDefinitionError):
        dg.Field(object)


def test_op_with_an_invalid_schema_fails_when_its_config_is_checked() -> None:
    @dg.op(config_schema={"a": object})
    def odd(context: dg.OpExecutionContext) -> None:
        pass

    @dg.job
    def odd_job() -> None:
        odd()

    with pytest.raises(dg.DagsterInvalidConfigDefinitionError, match="Error defining config at a"):
        odd_job.execute_in_process()


def test_invalid_default_value_is_a_config_error() -> None:
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        dg.Field(int, default_value="x")
    assert str(raised.value) == (
        "Field: invalid default_value 'x' for type Int: expected Int, got str 'x'."
    )


def test_config_schema_recognises_schemas() -> None:
    assert isinstance({"a": int}, dg.ConfigSchema)
    assert isinstance(dg.Field(int), dg.ConfigSchema)
    assert isinstance(dg.StringSource, dg.ConfigSchema)
    assert not isinstance({"a": object}, dg.ConfigSchema)


class Options(dg.PermissiveConfig):
    level: int = 1


def test_permissive_config_class_keeps_extra_fields() -> None:
    @dg.op
    def read(config: Options) -> tuple[int, Any]:
        return config.level, getattr(config, "colour", None)

    @dg.job
    def reading() -> None:
        read()

    result = reading.execute_in_process(
        run_config={"ops": {"read": {"config": {"level": 3, "colour": "red"}}}}
    )
    assert result.output_for_node("read") == (3, "red")
    assert issubclass(dg.PermissiveConfig, dg.Config)
