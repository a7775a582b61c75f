"""`configured`, `ConfigMapping` and `@config_mapping`: definitions whose config is fixed or
computed from a simpler config, on ops, graphs, resources and jobs."""

from __future__ import annotations

from typing import Any

import pytest

import kubedag as dg


@dg.op(config_schema={"n": int, "m": dg.Field(int, default_value=5)})
def numbers(context: dg.OpExecutionContext) -> dict[str, int]:
    return dict(context.op_config)


def _single(op: Any, run_config: Any = None) -> Any:
    @dg.job
    def single() -> None:
        op()

    return single.execute_in_process(run_config=run_config).output_for_node(op.name)


def test_configured_op_with_fixed_config() -> None:
    fixed = dg.configured(numbers, name="fixed")({"n": 2})
    assert fixed.name == "fixed" and numbers.name == "numbers"
    assert _single(fixed) == {"n": 2, "m": 5}
    # Like the reference, config given in run config for a fixed copy is not used.
    assert _single(fixed, {"ops": {"fixed": {"config": {"n": 3}}}}) == {"n": 2, "m": 5}
    assert numbers.configured({"n": 1}, name="other").name == "other"


def test_configured_op_needs_a_name() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="give the copy a name"):
        dg.configured(numbers)({"n": 2})


def test_configured_op_with_a_config_function() -> None:
    @dg.configured(numbers, config_schema={"word": str})
    def by_length(config: dict[str, Any]) -> dict[str, Any]:
        return {"n": len(config["word"])}

    assert by_length.name == "by_length"
    assert _single(by_length, {"ops": {"by_length": {"config": {"word": "abcd"}}}}) == {
        "n": 4,
        "m": 5,
    }
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        _single(by_length, {"ops": {"by_length": {"config": {"word": 3}}}})
    assert str(raised.value) == "ops.by_length.config.word: expected String, got int 3."


def test_configured_function_result_is_checked_against_the_original_schema() -> None:
    @dg.configured(numbers, config_schema={"word": str})
    def wrong(config: dict[str, Any]) -> dict[str, Any]:
        return {"n": "not a number"}

    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        _single(wrong, {"ops": {"wrong": {"config": {"word": "x"}}}})
    assert str(raised.value) == (
        "ops.wrong.config.n: expected Int, got str 'not a number' (in the config that the "
        "configured op 'wrong' maps to)."
    )


def test_config_function_that_raises() -> None:
    @dg.configured(numbers, config_schema={"word": str})
    def broken(config: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("nope")

    with pytest.raises(dg.DagsterConfigMappingFunctionError) as raised:
        _single(broken, {"ops": {"broken": {"config": {"word": "x"}}}})
    assert str(raised.value) == (
        "The config mapping function on the configured op 'broken' raised RuntimeError: nope"
    )
    assert isinstance(raised.value.user_exception, RuntimeError)
    assert raised.value.__cause__ is raised.value.user_exception


class Greeting(dg.Config):
    name: str
    punctuation: str = "!"


@dg.op
def greet(config: Greeting) -> str:
    return f"hello {config.name}{config.punctuation}"


def test_configured_op_with_pythonic_config() -> None:
    shout = dg.configured(greet, name="shout")({"name": "bob", "punctuation": "!!"})
    assert _single(shout) == "hello bob!!"


def test_configured_resources() -> None:
    @dg.resource(config_schema={"url": str, "port": dg.Field(int, default_value=80)})
    def endpoint(init_context: dg.InitResourceContext) -> str:
        return f"{init_context.resource_config['url']}:{init_context.resource_config['port']}"

    local = dg.configured(endpoint)({"url": "localhost"})

    @dg.configured(endpoint, {"host": str})
    def by_host(config: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"http://{config['host']}", "port": 8080}

    @dg.op(required_resource_keys={"a", "b"})
    def use(context: dg.OpExecutionContext) -> tuple[str, str]:
        return context.resources.a, context.resources.b

    @dg.job(resource_defs={"a": local, "b": by_host})
    def using() -> None:
        use()

    run_config = {"resources": {"b": {"config": {"host": "example.com"}}}}
    assert using.execute_in_process(run_config=run_config).output_for_node("use") == (
        "localhost:80",
        "http://example.com:8080",
    )
    assert endpoint.configured({"url": "z"})(dg.build_init_resource_context()) == "z:80"


def test_configured_resource_without_schema() -> None:
    @dg.resource
    def anything(init_context: dg.InitResourceContext) -> Any:
        return init_context.resource_config

    with dg.build_resources({"x": anything.configured({"k": [1]})}) as resources:
        assert resources.x == {"k": [1]}


def test_configured_rejects_jobs_like_the_reference() -> None:
    @dg.job
    def some_job() -> None:
        numbers()

    with pytest.raises(dg.InvalidDefinitionError, match="cannot be configured"):
        dg.configured(some_job)({})


def test_job_config_mapping() -> None:
    def to_run_config(config: dict[str, Any]) -> dict[str, Any]:
        return {"ops": {"numbers": {"config": {"n": config["x"] * 2}}}}

    @dg.job(config=dg.ConfigMapping(config_fn=to_run_config, config_schema={"x": int}))
    def simplified() -> None:
        numbers()

    result = simplified.execute_in_process(run_config={"x": 4})
    assert result.output_for_node("numbers") == {"n": 8, "m": 5}
    assert dg.validate_run_config(simplified, {"x": 1})["ops"]["numbers"]["config"] == {
        "n": 2,
        "m": 5,
    }
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        simplified.execute_in_process(run_config={"ops": {"numbers": {"config": {"n": 1}}}})
    assert [error.path for error in raised.value.errors] == ["ops", "x"]


def test_job_config_dict_is_a_default() -> None:
    @dg.job(config={"ops": {"numbers": {"config": {"n": 9}}}})
    def defaulted() -> None:
        numbers()

    assert defaulted.execute_in_process().output_for_node("numbers") == {"n": 9, "m": 5}
    run_config = {"ops": {"numbers": {"config": {"n": 10}}}}
    assert defaulted.execute_in_process(run_config=run_config).output_for_node("numbers") == {
        "n": 10,
        "m": 5,
    }


def test_job_config_mapping_that_raises() -> None:
    def broken(config: Any) -> Any:
        raise ValueError("boom")

    @dg.job(config=dg.ConfigMapping(config_fn=broken))
    def failing() -> None:
        numbers()

    with pytest.raises(dg.DagsterConfigMappingFunctionError, match="job 'failing' raised"):
        failing.execute_in_process()


@dg.config_mapping(config_schema={"x": int})
def plus_one(config: dict[str, Any]) -> dict[str, Any]:
    return {"numbers": {"config": {"n": config["x"] + 1}}}


@dg.graph(config=plus_one)
def mapped() -> Any:
    return numbers()


def test_config_mapping_decorator_makes_a_mapping() -> None:
    assert isinstance(plus_one, dg.ConfigMapping)
    assert plus_one.config_schema == {"x": int}
    bare = dg.config_mapping(lambda config: config)
    assert isinstance(bare, dg.ConfigMapping) and bare.config_schema is None


def test_graph_config_mapping() -> None:
    @dg.job
    def around() -> None:
        mapped()

    result = around.execute_in_process(run_config={"ops": {"mapped": {"config": {"x": 1}}}})
    assert result.output_for_node("mapped") == {"n": 2, "m": 5}
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        around.execute_in_process()
    assert [error.path for error in raised.value.errors] == ["ops.mapped.config"]


def test_graph_with_mapping_as_a_job() -> None:
    job = mapped.to_job()
    result = job.execute_in_process(run_config={"ops": {"config": {"x": 4}}})
    assert result.output_for_node("numbers") == {"n": 5, "m": 5}


def test_configured_graph() -> None:
    fixed = dg.configured(mapped, name="fixed_graph")({"x": 9})

    @dg.configured(mapped, config_schema={"y": int})
    def scaled(config: dict[str, Any]) -> dict[str, Any]:
        return {"x": config["y"] * 10}

    @dg.job
    def both() -> None:
        fixed()
        scaled()

    result = both.execute_in_process(run_config={"ops": {"scaled": {"config": {"y": 2}}}})
    assert result.output_for_node("fixed_graph") == {"n": 10, "m": 5}
    assert result.output_for_node("scaled") == {"n": 21, "m": 5}


def test_configured_graph_needs_a_mapping() -> None:
    @dg.graph
    def unmapped() -> Any:
        return numbers()

    with pytest.raises(dg.InvalidDefinitionError, match="only a graph with a config"):
        dg.configured(unmapped, name="x")({})


def test_graph_without_mapping_takes_no_config() -> None:
    @dg.graph
    def unmapped() -> Any:
        return numbers()

    @dg.job
    def around() -> None:
        unmapped()

    with pytest.raises(dg.DagsterInvalidConfigError, match="takes no config"):
        around.execute_in_process(run_config={"ops": {"unmapped": {"config": {"x": 1}}}})


def test_configured_logger_and_executor_take_a_fixed_config() -> None:
    quiet = dg.configured(dg.colored_console_logger)({"log_level": "ERROR"})
    assert isinstance(quiet, dg.LoggerDefinition)
    two = dg.configured(dg.multiprocess_executor)({"max_concurrent": 2})
    assert two.default_config["max_concurrent"] == 2
    with pytest.raises(dg.InvalidDefinitionError, match="takes a fixed config only"):
        dg.configured(dg.multiprocess_executor, config_schema={"n": int})(lambda c: c)


@dg.op(config_schema={"n": int})
def start(context: dg.OpExecutionContext) -> int:
    return int(context.op_config["n"])


@dg.op
def add_one(value: int) -> int:
    return value + 1


def test_graph_asset_config_mapping() -> None:
    @dg.graph_asset(
        config=dg.ConfigMapping(
            config_fn=lambda c: {"start": {"config": {"n": c["x"]}}},
            config_schema={"x": dg.Field(int, default_value=4)},
        )
    )
    def total() -> Any:
        return add_one(start())

    assert dg.materialize([total]).output_for_node("total") == 5
    run_config = {"ops": {"total": {"config": {"x": 10}}}}
    assert dg.materialize([total], run_config=run_config).output_for_node("total") == 11
    with pytest.raises(dg.DagsterInvalidConfigError, match=r"ops\.total\.config\.x"):
        dg.materialize([total], run_config={"ops": {"total": {"config": {"x": "many"}}}})
