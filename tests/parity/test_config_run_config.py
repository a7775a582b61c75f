"""Legacy `config_schema=` on ops, assets, resources and executors through run config; the
run config's sections; `validate_run_config`."""

from __future__ import annotations

from typing import Any

import pytest

import kubedag as dg


@dg.op(config_schema={"rows": int, "label": dg.Field(str, default_value="rows")})
def count(context: dg.OpExecutionContext) -> str:
    return f"{context.op_config['rows']} {context.op_config['label']}"


@dg.op
def plain(text: str) -> str:
    return text.upper()


@dg.job
def counting() -> None:
    plain(count())


def test_op_config_gets_defaults() -> None:
    result = counting.execute_in_process(run_config={"ops": {"count": {"config": {"rows": 3}}}})
    assert result.output_for_node("plain") == "3 ROWS"


def test_op_config_reads_env_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFG_TABLE", "events")

    @dg.op(config_schema={"table": dg.StringSource})
    def which(context: dg.OpExecutionContext) -> str:
        return str(context.op_config["table"])

    @dg.job
    def reading() -> None:
        which()

    run_config = {"ops": {"which": {"config": {"table": {"env": "CFG_TABLE"}}}}}
    assert reading.execute_in_process(run_config=run_config).output_for_node("which") == "events"


def test_asset_config_schema() -> None:
    @dg.asset(config_schema={"factor": dg.Field(float, default_value=2.0)})
    def scaled(context: dg.AssetExecutionContext) -> float:
        return float(context.op_config["factor"]) * 10

    assert dg.materialize([scaled]).output_for_node("scaled") == 20.0
    run_config = {"ops": {"scaled": {"config": {"factor": 3}}}}
    assert dg.materialize([scaled], run_config=run_config).output_for_node("scaled") == 30.0
    with pytest.raises(dg.DagsterInvalidConfigError, match=r"ops\.scaled\.config\.factor"):
        dg.materialize([scaled], run_config={"ops": {"scaled": {"config": {"factor": "x"}}}})


def test_function_resource_config_schema() -> None:
    @dg.resource(config_schema={"url": str, "port": dg.Field(int, default_value=80)})
    def endpoint(init_context: dg.InitResourceContext) -> str:
        return f"{init_context.resource_config['url']}:{init_context.resource_config['port']}"

    @dg.op(required_resource_keys={"endpoint"})
    def call(context: dg.OpExecutionContext) -> str:
        return str(context.resources.endpoint)

    @dg.job(resource_defs={"endpoint": endpoint})
    def calling() -> None:
        call()

    run_config = {"resources": {"endpoint": {"config": {"url": "h"}}}}
    assert calling.execute_in_process(run_config=run_config).output_for_node("call") == "h:80"
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        calling.execute_in_process()
    assert str(raised.value) == (
        "resources.endpoint.config: required ({ port?: Int url: String }) but not given; for "
        "example {'url': '...'}."
    )


def test_unused_resource_with_required_config_does_not_block_a_job() -> None:
    @dg.resource(config_schema={"url": str})
    def unused(init_context: dg.InitResourceContext) -> str:
        return "never"

    @dg.op
    def alone() -> int:
        return 1

    @dg.job(resource_defs={"unused": unused})
    def lonely() -> None:
        alone()

    assert lonely.execute_in_process().output_for_node("alone") == 1


def test_resource_called_directly_checks_its_config() -> None:
    @dg.resource(config_schema={"size": dg.Field(int, default_value=2)})
    def pool(init_context: dg.InitResourceContext) -> int:
        return int(init_context.resource_config["size"]) * 10

    assert pool(dg.build_init_resource_context()) == 20
    assert pool(dg.build_init_resource_context(config={"size": 3})) == 30
    with pytest.raises(dg.DagsterInvalidConfigError, match="expected Int"):
        pool(dg.build_init_resource_context(config={"size": "x"}))
    with dg.build_resources({"pool": pool}) as resources:
        assert resources.pool == 20


def test_build_op_context_checks_resource_config() -> None:
    @dg.resource(config_schema={"size": dg.Field(int, default_value=2)})
    def pool(init_context: dg.InitResourceContext) -> int:
        return int(init_context.resource_config["size"])

    @dg.op(required_resource_keys={"pool"})
    def use(context: dg.OpExecutionContext) -> int:
        return int(context.resources.pool)

    assert use(dg.build_op_context(resources={"pool": pool})) == 2


def test_direct_invocation_applies_defaults() -> None:
    assert count(dg.build_op_context(op_config={"rows": 2})) == "2 rows"
    with pytest.raises(dg.DagsterInvalidConfigError, match="rows"):
        count(dg.build_op_context(op_config={"label": "x"}))


def test_unknown_sections_and_entries_are_all_rejected() -> None:
    run_config: dict[str, Any] = {
        "solids": {},
        "ops": {"count": {"config": {"rows": 1}, "conifg": {}}, "cuont": {}},
        "resources": {"nothing": {"config": {}}},
        "loggers": {"file": {}},
        "execution": {"threads": {}},
    }
    with pytest.raises(dg.DagsterInvalidConfigError) as raised:
        dg.validate_run_config(counting, run_config)
    assert sorted(error.path for error in raised.value.errors) == [
        "execution.threads",
        "loggers.file",
        "ops.count.conifg",
        "ops.cuont",
        "resources.nothing",
        "solids",
    ]
    assert "Did you mean 'count'?" in str(raised.value)


def test_validate_run_config_returns_the_processed_config() -> None:
    processed = dg.validate_run_config(counting, {"ops": {"count": {"config": {"rows": 4}}}})
    assert processed["ops"] == {
        "count": {"config": {"rows": 4, "label": "rows"}, "inputs": {}},
        "plain": {"config": None, "inputs": {}},
    }
    assert set(processed) == {"ops", "resources", "execution", "loggers"}


def test_validate_run_config_accepts_all_sections() -> None:
    @dg.op
    def add_one(value: int) -> int:
        return value + 1

    @dg.job
    def adding() -> None:
        add_one()

    run_config = {
        "ops": {"add_one": {"inputs": {"value": 2}}},
        "execution": {"config": {"multiprocess": {"max_concurrent": 2}}},
        "loggers": {"console": {"config": {"log_level": "DEBUG"}}},
        "resources": {"io_manager": {"config": None}},
    }
    processed = dg.validate_run_config(adding, run_config)
    assert processed["ops"]["add_one"]["inputs"] == {"value": 2}
    assert processed["execution"] == {"config": {"max_concurrent": 2}}
    assert processed["loggers"] == {
        "console": {"config": {"log_level": "DEBUG", "name": "kubedag"}}
    }
    assert adding.execute_in_process(run_config=run_config).output_for_node("add_one") == 3


def test_validate_run_config_checks_the_executor() -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="max_concurrent"):
        dg.validate_run_config(
            counting,
            {
                "ops": {"count": {"config": {"rows": 1}}},
                "execution": {"config": {"multiprocess": {"max_concurrent": "many"}}},
            },
        )


class Sampling(dg.Config):
    fraction: float = 0.5


def test_validate_run_config_with_pythonic_config() -> None:
    @dg.op
    def sample(config: Sampling) -> float:
        return config.fraction

    @dg.job
    def sampling() -> None:
        sample()

    processed = dg.validate_run_config(sampling, {"ops": {"sample": {"config": {"fraction": 1}}}})
    assert processed["ops"]["sample"]["config"] == {"fraction": 1.0}


def test_validate_run_config_rejects_what_is_not_a_job() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="expected a job"):
        dg.validate_run_config(count, {})


def test_nested_graph_ops_config() -> None:
    @dg.graph
    def inner() -> Any:
        return count()

    @dg.job
    def outer() -> None:
        inner()

    run_config = {"ops": {"inner": {"ops": {"count": {"config": {"rows": 9}}}}}}
    assert outer.execute_in_process(run_config=run_config).output_for_node("inner") == "9 rows"
    processed = dg.validate_run_config(outer, run_config)
    assert processed["ops"]["inner"]["ops"]["count"]["config"] == {"rows": 9, "label": "rows"}


def test_executor_config_schema_uses_the_same_checker() -> None:
    @dg.executor(name="custom", config_schema={"flag": bool, "n": dg.Field(int, default_value=1)})
    def custom(init_context: dg.InitExecutorContext) -> dg.Executor:
        return dg.in_process_executor.create(None, {}, None)

    @dg.job(executor_def=custom)
    def customised() -> None:
        count()

    with pytest.raises(dg.DagsterInvalidConfigError, match=r"execution\.config\.flag"):
        dg.validate_run_config(
            customised,
            {"ops": {"count": {"config": {"rows": 1}}}, "execution": {"config": {"flag": 1}}},
        )


def test_op_config_is_checked_once_per_run_not_per_step() -> None:
    calls: list[Any] = []

    def mapped(value: dict[str, Any]) -> dict[str, Any]:
        calls.append(value)
        return {"ops": {"count": {"config": {"rows": value["rows"]}}}}

    @dg.job(config=dg.ConfigMapping(mapped, {"rows": int}))
    def mapped_job() -> None:
        plain(count())

    mapped_job.execute_in_process(run_config={"rows": 1})
    assert calls == [{"rows": 1}]


@dg.op(config_schema={"table": dg.StringSource, "limit": dg.Field(int, default_value=5)})
def in_child(context: dg.OpExecutionContext) -> tuple[str, int, int]:
    import os

    return context.op_config["table"], context.op_config["limit"], os.getpid()


@dg.job(config=dg.ConfigMapping(lambda c: {"ops": {"in_child": {"config": c}}}))
def child_job() -> None:
    in_child()


def test_processed_config_reaches_a_step_in_its_own_process(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("CFG_CHILD_TABLE", "events")
    run_config = {
        "table": {"env": "CFG_CHILD_TABLE"},
    }
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        result = dg.execute_job(child_job, instance, run_config=run_config)
        table, limit, pid = result.output_for_node("in_child")
        assert (table, limit) == ("events", 5)
        assert pid != os.getpid()
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.run_config == run_config  # the reference, not the value


def test_executor_gets_its_processed_config(tmp_path: Any) -> None:
    seen: list[Any] = []

    @dg.executor(name="noting", config_schema={"n": dg.Field(int, default_value=3)})
    def noting(init_context: dg.InitExecutorContext) -> dg.Executor:
        seen.append(dict(init_context.executor_config))
        return dg.in_process_executor.create(None, {}, None)

    @dg.job(executor_def=noting)
    def noted() -> None:
        plain.alias("shout")()

    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        run_config = {"ops": {"shout": {"inputs": {"text": "a"}}}}
        assert dg.execute_job(noted, instance, run_config=run_config).success
    assert seen == [{"n": 3}]
