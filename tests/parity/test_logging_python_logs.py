"""Python `logging` records from user code: `get_dagster_logger` and the instance's managed
loggers land in the event log of the step that logged them; other loggers do not."""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.errors import InstanceConfigError


def messages(result: Any) -> list[tuple[int, str, str | None]]:
    return [
        (e.level, e.user_message, e.step_key)
        for e in result.instance.all_logs(result.run_id)
        if not e.is_event
    ]


def test_get_dagster_logger_names_and_level() -> None:
    base = dg.get_dagster_logger()
    assert base.name == "kubedag.builtin" and base.getEffectiveLevel() == logging.DEBUG
    assert dg.get_dagster_logger("etl").name == "kubedag.builtin.etl"
    assert isinstance(base, logging.Logger)


def test_get_dagster_logger_records_land_in_the_step_log() -> None:
    @dg.asset
    def loads() -> int:
        log = dg.get_dagster_logger()
        log.debug("fine detail")
        for i in range(2):
            log.info("did %d things", i + 1)
        dg.get_dagster_logger("child").warning("from a child logger")
        return 1

    result = dg.materialize([loads])
    assert messages(result) == [
        (logging.DEBUG, "fine detail", "loads"),
        (logging.INFO, "did 1 things", "loads"),
        (logging.INFO, "did 2 things", "loads"),
        (logging.WARNING, "from a child logger", "loads"),
    ]


def test_exceptions_logged_through_python_logging_keep_their_traceback() -> None:
    @dg.asset
    def fails_softly() -> None:
        try:
            {}["missing"]
        except KeyError:
            dg.get_dagster_logger().exception("lookup failed")

    [(level, message, _)] = messages(dg.materialize([fails_softly]))
    assert level == logging.ERROR
    assert message.startswith("lookup failed\nTraceback") and "KeyError: 'missing'" in message


def test_other_python_loggers_are_not_captured_by_default() -> None:
    @dg.asset
    def plain() -> None:
        logging.getLogger("some.library").warning("library warning")

    assert messages(dg.materialize([plain])) == []


def test_nothing_is_captured_outside_a_step(caplog: pytest.LogCaptureFixture) -> None:
    @dg.asset
    def quiet() -> None:
        pass

    result = dg.materialize([quiet])
    handlers = list(dg.get_dagster_logger().handlers)
    with caplog.at_level(logging.INFO):
        dg.get_dagster_logger().info("after the run")
    assert messages(result) == []
    assert [r.getMessage() for r in caplog.records] == ["after the run"]
    # The capturing handler stays on the builtin logger (it writes nothing outside a step);
    # runs do not pile up more of them.
    assert len(handlers) <= 1
    dg.materialize([quiet])
    assert dg.get_dagster_logger().handlers == handlers


@pytest.fixture
def managing_instance(tmp_path: Path) -> Iterator[dg.Instance]:
    config = {
        "python_logs": {
            "managed_python_loggers": ["my_library", "root"],
            "python_log_level": "INFO",
        }
    }
    with dg.Instance.from_config(config, home=str(tmp_path / "home")) as instance:
        yield instance


def test_instance_managed_python_loggers_are_captured(managing_instance: dg.Instance) -> None:
    assert managing_instance.managed_python_loggers == ["my_library", "root"]
    assert managing_instance.python_log_level == "INFO"

    @dg.asset
    def uses_a_library() -> None:
        logging.getLogger("my_library.client").info("connected")
        logging.getLogger("my_library").debug("below the instance's level")
        logging.getLogger("unrelated").warning("reaches root")

    result = dg.materialize([uses_a_library], instance=managing_instance)
    # A record seen by two managed loggers (my_library, then root) is written once.
    assert messages(result) == [
        (logging.INFO, "connected", "uses_a_library"),
        (logging.WARNING, "reaches root", "uses_a_library"),
    ]


def test_python_logs_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InstanceConfigError, match=r"python_logs\.python_log_level"):
        dg.Instance.from_config({"python_logs": {"python_log_level": "LOUD"}}, home=str(tmp_path))
    with pytest.raises(InstanceConfigError, match=r"python_logs\.managed_loggers"):
        dg.Instance.from_config({"python_logs": {"managed_loggers": []}}, home=str(tmp_path))


def test_python_log_records_from_a_step_process(tmp_path: Path) -> None:
    @dg.op
    def in_child() -> None:
        dg.get_dagster_logger().info("logged in the step's process")

    @dg.job(executor_def=dg.multiprocess_executor)
    def pipeline() -> None:
        in_child()

    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        result = dg.execute_job(pipeline, instance)
        assert result.success
        stored = [
            (e.user_message, e.step_key) for e in instance.all_logs(result.run_id) if not e.is_event
        ]
    assert ("logged in the step's process", "in_child") in stored


def test_hooks_can_log_through_python_logging() -> None:
    @dg.success_hook
    def announce(context: dg.HookContext) -> None:
        dg.get_dagster_logger().info(f"{context.op.name} is done")

    @dg.op
    def work() -> None:
        pass

    @dg.job(hooks={announce})
    def pipeline() -> None:
        work()

    result = pipeline.execute_in_process()
    assert (logging.INFO, "work is done", "work") in messages(result)
