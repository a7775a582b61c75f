"""Logger definitions, the built-in loggers, a job's own loggers and the `loggers:` section of
run config, `context.log` as a `logging.Logger`."""

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


class Collect(logging.Handler):
    """Keeps the records a logger built by a run receives."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def collecting_logger(sink: list[Any]) -> dg.LoggerDefinition:
    @dg.logger(config_schema={"prefix": str}, description="keeps records")
    def collecting(init_context: dg.InitLoggerContext) -> logging.Logger:
        sink.append(("config", init_context.logger_config, init_context.run_id))
        made = logging.Logger(f"collect-{init_context.logger_config['prefix']}", logging.DEBUG)
        handler = Collect()
        sink.append(handler)
        made.addHandler(handler)
        return made

    return collecting


def test_logger_decorator_and_definition() -> None:
    @dg.logger
    def bare(init_context: dg.InitLoggerContext) -> logging.Logger:
        return logging.Logger("bare")

    @dg.logger(config_schema={"level": str}, description="with a schema")
    def configured(init_context: dg.InitLoggerContext) -> logging.Logger:
        return logging.Logger("configured", init_context.logger_config["level"])

    assert isinstance(bare, dg.LoggerDefinition) and bare.config_schema is None
    assert configured.config_schema == {"level": str}
    assert configured.description == "with a schema"
    made = configured(dg.build_init_logger_context(logger_config={"level": "WARNING"}))
    assert isinstance(made, logging.Logger) and made.level == logging.WARNING
    direct = dg.LoggerDefinition(lambda ctx: logging.Logger("direct"), None, "plain")
    assert direct.description == "plain" and direct(dg.build_init_logger_context()).name == "direct"


def test_init_logger_context_carries_config_and_job() -> None:
    @dg.op
    def noop() -> None:
        pass

    @dg.job
    def some_job() -> None:
        noop()

    context = dg.build_init_logger_context(logger_config={"a": 1}, job_def=some_job)
    assert context.logger_config == {"a": 1} and context.job_def is some_job
    full = dg.InitLoggerContext({"b": 2}, logger_def=None, job_def=some_job, run_id="r-1")
    assert (full.logger_config, full.run_id, full.job_def) == ({"b": 2}, "r-1", some_job)


def test_builtin_loggers_and_their_defaults() -> None:
    assert dg.default_loggers() == {"console": dg.colored_console_logger}
    [(definition, config)] = dg.default_system_loggers(None)
    assert definition is dg.colored_console_logger and config["log_level"] == "INFO"
    console = dg.colored_console_logger(dg.build_init_logger_context())
    assert isinstance(console, logging.Logger) and console.level == logging.INFO
    debug = dg.colored_console_logger(
        dg.build_init_logger_context(logger_config={"log_level": "DEBUG", "name": "mine"})
    )
    assert (debug.name, debug.level) == ("mine", logging.DEBUG)
    with pytest.raises(dg.InvalidConfigError, match="log_level: 'LOUD' is not a level"):
        dg.colored_console_logger(dg.build_init_logger_context({"log_level": "LOUD"}))


def test_json_console_logger_writes_one_json_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = dg.json_console_logger(dg.build_init_logger_context())
    made.info("hello %s", "world")
    made.debug("below the level")
    [line] = capsys.readouterr().err.strip().splitlines()
    document = json.loads(line)
    assert document["msg"] == "hello %s" and document["args"] == ["world"]
    assert document["levelname"] == "INFO" and document["name"] == "kubedag"
    record = logging.makeLogRecord({"msg": "m", "dagster_meta": {"run_id": "r", "x": {1}}})
    assert json.loads(dg.JsonLogFormatter().format(record))["dagster_meta"]["run_id"] == "r"


def test_context_log_is_a_log_manager_and_a_python_logger() -> None:
    seen: list[Any] = []

    @dg.asset
    def checks(context: dg.AssetExecutionContext) -> None:
        seen.append(context.log)
        try:
            raise ValueError("inside")
        except ValueError:
            context.log.exception("caught %s", "it")

    result = dg.materialize([checks])
    assert isinstance(seen[0], dg.DagsterLogManager) and isinstance(seen[0], logging.Logger)
    [message] = [e.user_message for e in result.instance.all_logs(result.run_id) if not e.is_event]
    assert message.startswith("caught it\nTraceback") and "ValueError: inside" in message


def test_a_job_logger_turned_on_in_run_config_gets_every_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink: list[Any] = []

    @dg.op
    def talk(context: dg.OpExecutionContext) -> None:
        context.log.info("from the op")

    @dg.job(logger_defs={"collect": collecting_logger(sink)})
    def chatty() -> None:
        talk()

    # Not listed in run config: the job's loggers are not built; the console is used.
    chatty.execute_in_process()
    assert sink == []
    assert "from the op" in capsys.readouterr().err

    result = chatty.execute_in_process(
        run_config={"loggers": {"collect": {"config": {"prefix": "p"}}}}
    )
    assert sink[0] == ("config", {"prefix": "p"}, result.run_id)
    records = sink[1].records
    messages = [r.getMessage() for r in records]
    assert f"chatty - {result.run_id} - talk - from the op" in messages
    assert f'chatty - {result.run_id} - RUN_START - Started execution of run for "chatty".' in (
        messages
    )
    [user] = [r for r in records if r.dagster_meta["orig_message"] == "from the op"]
    assert user.levelno == logging.INFO
    assert user.dagster_meta["step_key"] == "talk" and user.dagster_meta["dagster_event"] is None
    step_success = [
        r
        for r in records
        if r.dagster_meta["dagster_event"] is not None
        and r.dagster_meta["dagster_event"].event_type_value == "STEP_SUCCESS"
    ]
    assert len(step_success) == 1
    # The console is not one of the loggers this run turned on: it printed nothing.
    assert "from the op" not in capsys.readouterr().err


def test_loggers_section_names_only_the_jobs_loggers() -> None:
    @dg.op
    def noop() -> None:
        pass

    @dg.job(logger_defs={"collect": collecting_logger([])})
    def own_loggers() -> None:
        noop()

    with pytest.raises(
        dg.InvalidConfigError, match="no logger 'console'; its loggers are: collect"
    ):
        own_loggers.execute_in_process(run_config={"loggers": {"console": {}}})
    with pytest.raises(dg.InvalidConfigError, match=r"loggers\.collect\.config\.prefix"):
        own_loggers.execute_in_process(run_config={"loggers": {"collect": {"config": {}}}})


def test_console_level_from_run_config(capsys: pytest.CaptureFixture[str]) -> None:
    @dg.asset
    def quiet(context: dg.AssetExecutionContext) -> None:
        context.log.debug("a debug line")

    dg.materialize([quiet])
    assert "a debug line" not in capsys.readouterr().err
    dg.materialize([quiet], run_config={"loggers": {"console": {"config": {"log_level": "DEBUG"}}}})
    err = capsys.readouterr().err
    assert "a debug line" in err and "STEP_START" not in err  # events print their message
    assert 'Started execution of step "quiet"' in err
    with pytest.raises(dg.InvalidConfigError, match=r"loggers\.console\.config\.colour"):
        dg.materialize([quiet], run_config={"loggers": {"console": {"config": {"colour": 1}}}})


def test_console_next_to_a_custom_logger(capsys: pytest.CaptureFixture[str]) -> None:
    sink: list[Any] = []

    @dg.op
    def talk(context: dg.OpExecutionContext) -> None:
        context.log.warning("both see this")

    @dg.job(logger_defs={"console": dg.colored_console_logger, "collect": collecting_logger(sink)})
    def both() -> None:
        talk()

    both.execute_in_process(
        run_config={"loggers": {"console": {}, "collect": {"config": {"prefix": "x"}}}}
    )
    assert "both see this" in capsys.readouterr().err
    assert any(r.dagster_meta["orig_message"] == "both see this" for r in sink[1].records)


def test_definitions_loggers_apply_to_its_jobs() -> None:
    sink: list[Any] = []

    @dg.asset
    def one(context: dg.AssetExecutionContext) -> int:
        context.log.info("from the asset")
        return 1

    defs = dg.Definitions(
        assets=[one],
        jobs=[dg.define_asset_job("all_assets")],
        loggers={"collect": collecting_logger(sink)},
    )
    job = defs.get_job_def("all_assets")
    assert set(job.loggers) == {"collect"}
    job.execute_in_process(run_config={"loggers": {"collect": {"config": {"prefix": "d"}}}})
    assert any(r.dagster_meta["orig_message"] == "from the asset" for r in sink[1].records)


def test_a_logger_that_cannot_be_built_fails_the_run_before_it_starts() -> None:
    @dg.logger
    def broken(init_context: dg.InitLoggerContext) -> logging.Logger:
        raise RuntimeError("no logger today")

    @dg.op
    def noop() -> None:
        pass

    @dg.job(logger_defs={"broken": broken})
    def pipeline() -> None:
        noop()

    instance = dg.Instance.ephemeral()
    with pytest.raises(RuntimeError, match="no logger today"):
        pipeline.execute_in_process(instance=instance, run_config={"loggers": {"broken": {}}})
    [run] = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE


def test_job_loggers_are_built_in_each_step_process(tmp_path: Path) -> None:
    out = tmp_path / "records.txt"

    @dg.logger(config_schema={"path": str})
    def to_file(init_context: dg.InitLoggerContext) -> logging.Logger:
        made = logging.Logger("to_file", logging.DEBUG)
        made.addHandler(logging.FileHandler(init_context.logger_config["path"]))
        return made

    @dg.op
    def talk(context: dg.OpExecutionContext) -> None:
        context.log.info("from a step process")

    @dg.job(logger_defs={"file": to_file}, executor_def=dg.multiprocess_executor)
    def pipeline() -> None:
        talk()

    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        result = dg.execute_job(
            pipeline,
            instance,
            run_config={"loggers": {"file": {"config": {"path": str(out)}}}},
        )
    assert result.success
    lines = out.read_text().splitlines()
    assert f"pipeline - {result.run_id} - talk - from a step process" in lines
    assert any("RUN_SUCCESS" in line for line in lines)  # the parent's entries too
