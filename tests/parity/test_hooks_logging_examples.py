"""Examples from the reference's documentation of hooks and loggers, rewritten, run end to end:
notifying a chat channel from hooks, testing a hook with a mocked resource, a custom JSON
logger turned on from run config, and the console's level in run config."""

import json
import logging
from typing import Any

import pytest

import kubedag as dg


class ChatClient(dg.ConfigurableResource):
    """Stands in for a chat API: keeps what it was asked to post."""

    channel: str

    def model_post_init(self, _context: Any) -> None:
        object.__setattr__(self, "_sent", [])

    def send_message(self, text: str) -> None:
        self._sent.append(f"#{self.channel}: {text}")

    @property
    def sent(self) -> list[str]:
        sent: list[str] = self._sent
        return sent


@dg.success_hook(required_resource_keys={"chat"})
def chat_on_success(context: dg.HookContext) -> None:
    context.resources.chat.send_message(f"op {context.op.name} succeeded")


@dg.failure_hook(required_resource_keys={"chat"})
def chat_on_failure(context: dg.HookContext) -> None:
    context.resources.chat.send_message(f"op {context.op.name} failed: {context.op_exception}")


@dg.op
def extract() -> list[int]:
    return [1, 2, 3]


@dg.op
def transform(rows: list[int]) -> list[int]:
    if not rows:
        raise ValueError("nothing to transform")
    return [row * 10 for row in rows]


@dg.op
def load(rows: list[int]) -> None:
    raise ConnectionError("warehouse unreachable")


def test_a_job_that_notifies_on_every_failure_and_one_success() -> None:
    chat = ChatClient(channel="data")

    @dg.job(resource_defs={"chat": chat}, hooks={chat_on_failure})
    def notifying_job() -> None:
        load(transform.with_hooks({chat_on_success})(extract()))

    result = notifying_job.execute_in_process(raise_on_error=False)
    assert not result.success
    assert chat.sent == [
        "#data: op transform succeeded",
        "#data: op load failed: warehouse unreachable",
    ]


def test_testing_a_hook_with_a_mocked_resource() -> None:
    chat = ChatClient(channel="tests")
    context = dg.build_hook_context(resources={"chat": chat}, op=transform)
    chat_on_success(context)
    assert chat.sent == ["#tests: op transform succeeded"]


@dg.logger(
    config_schema={"log_level": str, "name": str},
    description="A JSON-formatted console logger",
)
def json_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"]
    made = logging.Logger(init_context.logger_config["name"], level=level)

    class JsonToStderr(logging.StreamHandler):  # type: ignore[type-arg]
        def emit(self, record: logging.LogRecord) -> None:
            import sys

            sys.stderr.write(json.dumps({"level": record.levelname, "msg": record.msg}) + "\n")

    made.addHandler(JsonToStderr())
    return made


def test_a_custom_json_logger_turned_on_from_run_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @dg.op
    def hello_logs(context: dg.OpExecutionContext) -> None:
        context.log.info("Hello, world!")
        context.log.error("This is an error")

    @dg.job(logger_defs={"my_json_logger": json_logger})
    def demo_job() -> None:
        hello_logs()

    run_config = {"loggers": {"my_json_logger": {"config": {"log_level": "INFO", "name": "demo"}}}}
    result = demo_job.execute_in_process(run_config=run_config)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    hello = [line for line in lines if line["msg"].endswith("hello_logs - Hello, world!")]
    assert hello == [
        {"level": "INFO", "msg": f"demo_job - {result.run_id} - hello_logs - Hello, world!"}
    ]
    assert any(line["level"] == "ERROR" for line in lines)
    # DEBUG framework events are below the logger's level.
    assert not any("STEP_START" in line["msg"] for line in lines)


def test_console_level_error_keeps_only_errors(capsys: pytest.CaptureFixture[str]) -> None:
    @dg.asset
    def my_asset(context: dg.AssetExecutionContext) -> None:
        context.log.info("Processing started")
        context.log.warning("Missing optional field")
        context.log.error("Failed to connect")

    dg.materialize(
        [my_asset], run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    )
    err = capsys.readouterr().err
    assert "Failed to connect" in err
    assert "Processing started" not in err and "Missing optional field" not in err
