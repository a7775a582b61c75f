"""Reference section "Logging": `context.log` messages go to the run's event log, and the console
shows those at or above `loggers.console.config.log_level` from run config."""

import logging

import pytest
import yaml

import kubedag as dg


@dg.asset
def my_asset(context: dg.AssetExecutionContext):
    context.log.info("Processing started")
    context.log.warning("Missing optional field")
    context.log.error("Failed to connect")


RUN_CONFIG_YAML = """
loggers:
  console:
    config:
      log_level: ERROR
"""

MESSAGES = {
    logging.INFO: "Processing started",
    logging.WARNING: "Missing optional field",
    logging.ERROR: "Failed to connect",
}


def _console_messages(stderr: str) -> list[str]:
    return [m for m in MESSAGES.values() if m in stderr]


def test_every_message_reaches_the_event_log_with_its_level(instance: dg.Instance) -> None:
    result = dg.materialize([my_asset], instance=instance)

    logged = [
        (entry.level, entry.user_message)
        for entry in instance.all_logs(result.run_id)
        if not entry.is_event and entry.step_key == "my_asset"
    ]
    assert logged == list(MESSAGES.items())


def test_yaml_run_config_sets_the_console_level(
    instance: dg.Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    run_config = yaml.safe_load(RUN_CONFIG_YAML)

    result = dg.materialize([my_asset], run_config=run_config, instance=instance)

    assert result.success
    assert _console_messages(capsys.readouterr().err) == ["Failed to connect"]
    # The console level filters the console only; the event log keeps everything.
    user_messages = [e.user_message for e in instance.all_logs(result.run_id) if not e.is_event]
    assert user_messages == list(MESSAGES.values())


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("DEBUG", ["Processing started", "Missing optional field", "Failed to connect"]),
        ("INFO", ["Processing started", "Missing optional field", "Failed to connect"]),
        ("WARNING", ["Missing optional field", "Failed to connect"]),
        ("ERROR", ["Failed to connect"]),
        ("CRITICAL", []),
    ],
)
def test_standard_levels(
    level: str, shown: list[str], instance: dg.Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    run_config = {"loggers": {"console": {"config": {"log_level": level}}}}

    dg.materialize([my_asset], run_config=run_config, instance=instance)

    assert _console_messages(capsys.readouterr().err) == shown


def test_default_console_level_is_info(
    instance: dg.Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    dg.materialize([my_asset], instance=instance)

    assert _console_messages(capsys.readouterr().err) == list(MESSAGES.values())


def test_unknown_level_is_rejected_before_the_run(instance: dg.Instance) -> None:
    run_config = {"loggers": {"console": {"config": {"log_level": "VERBOSE"}}}}

    with pytest.raises(dg.InvalidConfigError, match=r"loggers\.console\.config\.log_level"):
        dg.materialize([my_asset], run_config=run_config, instance=instance)
    assert instance.get_runs() == []
