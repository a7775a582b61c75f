"""`context.log` and the rest of the context, as seen inside a real run."""

import logging

import pytest

import kubedag as dg


def test_messages_go_to_the_event_log_and_the_console_by_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @dg.asset
    def chatty(context: dg.AssetExecutionContext) -> None:
        context.log.debug("debug detail")
        context.log.info("Processing started")
        context.log.warning("Missing optional field")
        context.log.error("Failed to connect")

    instance = dg.Instance.ephemeral()
    result = dg.materialize(
        [chatty],
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    stored = [
        (e.level, e.user_message, e.step_key)
        for e in instance.all_logs(result.run_id)
        if not e.is_event
    ]
    assert stored == [
        (logging.DEBUG, "debug detail", "chatty"),
        (logging.INFO, "Processing started", "chatty"),
        (logging.WARNING, "Missing optional field", "chatty"),
        (logging.ERROR, "Failed to connect", "chatty"),
    ]
    err = capsys.readouterr().err
    assert "Missing optional field" in err and "Failed to connect" in err
    assert "Processing started" not in err and "debug detail" not in err
    assert f"{result.run_id[:8]} - chatty - WARNING" not in err  # level comes before job and run
    assert " - kubedag - WARNING - __ASSET_JOB - " in err


def test_step_failures_reach_the_console_at_default_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @dg.asset
    def failing() -> None:
        raise ValueError("visible failure")

    dg.materialize([failing], raise_on_error=False)
    assert "visible failure" not in capsys.readouterr().out
    # the failure event is ERROR, so it is printed
    result = dg.materialize([failing], raise_on_error=False)
    assert not result.success


def test_context_exposes_run_asset_and_tags() -> None:
    seen: dict[str, object] = {}

    @dg.asset(key_prefix=["warehouse"])
    def table(context: dg.AssetExecutionContext) -> None:
        seen["run_id"] = context.run.run_id
        seen["asset_key"] = context.asset_key
        seen["job"] = context.job_name
        seen["tag"] = context.get_tag("owner")
        seen["op"] = context.op_def.name
        seen["has_partition"] = context.has_partition_key

    result = dg.materialize([table], tags={"owner": "data-team"})
    assert seen == {
        "run_id": result.run_id,
        "asset_key": dg.AssetKey(["warehouse", "table"]),
        "job": "__ASSET_JOB",
        "tag": "data-team",
        "op": "warehouse__table",
        "has_partition": False,
    }


def test_add_output_metadata_lands_on_the_materialization() -> None:
    @dg.asset
    def counted(context: dg.AssetExecutionContext) -> list[int]:
        context.add_output_metadata({"num_rows": 3})
        return [1, 2, 3]

    (m,) = dg.materialize_to_memory([counted]).asset_materializations_for_node("counted")
    assert m.metadata == {"num_rows": dg.IntMetadataValue(3)}


def test_event_listener_sees_each_entry_as_it_is_stored() -> None:
    from kubedag.execution.run import execute_job

    @dg.asset
    def first(context: dg.AssetExecutionContext) -> int:
        context.log.info("inside first")
        return 1

    @dg.asset
    def second(first: int) -> int:
        return first + 1

    instance = dg.Instance.ephemeral()
    seen: list[tuple[str, int]] = []

    def listener(entry: dg.EventLogEntry) -> None:
        # Stored before the listener is told: the event log already holds the entry.
        seen.append((entry.user_message, len(instance.all_logs(entry.run_id))))

    job = dg.Definitions(assets=[first, second]).get_implicit_global_asset_job_def()
    result = execute_job(job, instance=instance, event_listener=listener)
    stored = instance.all_logs(result.run_id)
    assert [message for message, _ in seen] == [e.user_message for e in stored]
    assert [count for _, count in seen] == list(range(1, len(stored) + 1))
    assert "inside first" in [message for message, _ in seen]
