"""Choosing and configuring executors: pure decisions, checked before anything runs."""

import pytest

import kubedag as dg
from kubedag.execution.executor_selection import choose_executor
from kubedag.execution.executors import RetryMode, parse_retries
from kubedag.execution.multiprocess.config import (
    TagConcurrencyLimit,
    available_cpus,
    parse_multiprocess_config,
)
from kubedag.execution.multiprocess.frames import split_frames
from kubedag.execution.multiprocess.processes import describe_exit
from kubedag.execution.multiprocess.scheduling import steps_to_start


@dg.op
def one() -> int:
    return 1


@dg.job
def default_job() -> None:
    one()


def _choice(job: dg.JobDefinition, config: dict | None = None, in_process: bool = False):  # type: ignore[no-untyped-def]
    execution = {"config": config} if config is not None else {}
    return choose_executor(job, execution, in_process=in_process)


# -- which executor ---------------------------------------------------------------------------
def test_default_is_multiprocess_with_one_process_per_cpu() -> None:
    choice = _choice(default_job)
    assert choice.executor_def is dg.multiprocess_executor
    executor = choice.create(default_job, None)
    assert executor.max_concurrent == available_cpus()  # type: ignore[attr-defined]
    assert executor.retries is RetryMode.ENABLED


def test_run_config_selects_in_process_or_configures_multiprocess() -> None:
    assert _choice(default_job, {"in_process": {}}).executor_def is dg.in_process_executor
    choice = _choice(default_job, {"multiprocess": {"max_concurrent": 4}})
    assert choice.executor_def is dg.multiprocess_executor
    assert choice.config == {"max_concurrent": 4}
    assert choice.field == "execution.config.multiprocess"


def test_job_executor_takes_its_config_directly_and_run_config_overrides_configured() -> None:
    @dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}))
    def configured() -> None:
        one()

    assert _choice(configured).config == {"max_concurrent": 2}
    assert _choice(configured, {"max_concurrent": 3}).config == {"max_concurrent": 3}
    assert _choice(configured, {"multiprocess": {"retries": {"disabled": {}}}}).config == {
        "max_concurrent": 2,
        "retries": {"disabled": {}},
    }
    # Run config may still choose the other built-in executor.
    assert _choice(configured, {"in_process": {}}).executor_def is dg.in_process_executor


def test_definitions_executor_and_asset_job_executor_are_used() -> None:
    @dg.asset
    def thing() -> int:
        return 1

    defs = dg.Definitions(
        assets=[thing],
        jobs=[
            dg.define_asset_job("mp", executor_def=dg.multiprocess_executor),
            dg.define_asset_job("plain"),
        ],
        executor=dg.in_process_executor,
    )
    assert _choice(defs.get_job_def("mp")).executor_def is dg.multiprocess_executor
    assert _choice(defs.get_job_def("plain")).executor_def is dg.in_process_executor


def test_in_process_runs_keep_only_retries_but_still_check_the_config() -> None:
    choice = _choice(
        default_job, {"multiprocess": {"max_concurrent": 3, "retries": {"disabled": {}}}}, True
    )
    assert choice.executor_def is dg.in_process_executor
    assert choice.create(default_job, None).retries is RetryMode.DISABLED
    with pytest.raises(dg.InvalidConfigError, match=r"multiprocess\.max_concurrent"):
        _choice(default_job, {"multiprocess": {"max_concurrent": "many"}}, True)


def test_custom_executor_config_is_its_own() -> None:
    @dg.executor(name="custom", config_schema={"flag": bool})
    def custom(init_context: dg.InitExecutorContext) -> dg.Executor:
        return dg.in_process_executor.create(None, {}, None)

    @dg.job(executor_def=custom)
    def job_with_custom() -> None:
        one()

    assert _choice(job_with_custom, {"flag": True}).config == {"flag": True}
    with pytest.raises(dg.InvalidConfigError, match=r"execution\.config\.other"):
        _choice(job_with_custom, {"flag": True, "other": 1})
    assert _choice(job_with_custom, {"flag": True}, True).executor_def is dg.in_process_executor


# -- config errors name the field -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"multiprocess": {"max_concurrent": -1}}, "execution.config.multiprocess.max_concurrent"),
        (
            {"multiprocess": {"max_concurrent": True}},
            "execution.config.multiprocess.max_concurrent",
        ),
        ({"multiprocess": {"max_procs": 2}}, "execution.config.multiprocess.max_procs"),
        ({"multiprocess": {"start_method": "clone"}}, "execution.config.multiprocess.start_method"),
        (
            {"multiprocess": {"start_method": {"spawn": {"preload_modules": ["x"]}}}},
            "execution.config.multiprocess.start_method.spawn.preload_modules",
        ),
        (
            {"multiprocess": {"tag_concurrency_limits": [{"key": "db"}]}},
            r"execution.config.multiprocess.tag_concurrency_limits\[0\].limit",
        ),
        (
            {"multiprocess": {"tag_concurrency_limits": [{"key": "db", "limit": 1, "value": 3}]}},
            r"execution.config.multiprocess.tag_concurrency_limits\[0\].value",
        ),
        ({"multiprocess": {"retries": {"sometimes": {}}}}, "execution.config.multiprocess.retries"),
        ({"in_process": {"max_concurrent": 2}}, "execution.config.in_process.max_concurrent"),
        ({"max_concurrent": 4}, "execution.config.max_concurrent"),
        ({"multiprocess": {}, "in_process": {}}, "execution.config"),
    ],
)
def test_config_errors_name_the_field(config: dict, field: str) -> None:
    with pytest.raises(dg.InvalidConfigError, match=field):
        _choice(default_job, config)


def test_execution_section_shape_is_checked_and_the_older_form_is_accepted() -> None:
    with pytest.raises(dg.InvalidConfigError, match=r"execution\.executor"):
        default_job.execute_in_process(run_config={"execution": {"executor": "multiprocess"}})
    result = default_job.execute_in_process(
        run_config={"execution": {"multiprocess": {"config": {"max_concurrent": 2}}}}
    )
    assert result.success


def test_parsed_multiprocess_config() -> None:
    config = parse_multiprocess_config(
        {
            "max_concurrent": 0,
            "start_method": {"forkserver": {"preload_modules": ["json"]}},
            "tag_concurrency_limits": [
                {"key": "db", "limit": 1},
                {"key": "team", "value": {"applyLimitPerUniqueValue": True}, "limit": 2},
            ],
            "retries": {"disabled": {}},
        },
        "config",
    )
    assert config.max_concurrent == available_cpus()
    assert config.start_method == "forkserver"
    assert config.preload_modules == ("json",)
    assert config.tag_concurrency_limits == (
        TagConcurrencyLimit("db", 1),
        TagConcurrencyLimit("team", 2, None, True),
    )
    assert config.retries is RetryMode.DISABLED
    assert parse_multiprocess_config({"start_method": "spawn"}, "c").start_method == "spawn"


def test_retries_config() -> None:
    assert parse_retries(None, "r") is RetryMode.ENABLED
    assert parse_retries({"enabled": {}}, "r") is RetryMode.ENABLED
    assert parse_retries({"disabled": None}, "r") is RetryMode.DISABLED
    with pytest.raises(dg.InvalidConfigError, match=r"r\.disabled"):
        parse_retries({"disabled": {"x": 1}}, "r")


# -- which ready steps may start ---------------------------------------------------------------
def test_max_concurrent_counts_running_steps() -> None:
    ready = [("a", {}), ("b", {}), ("c", {})]
    assert steps_to_start(ready, [], 2) == ["a", "b"]
    assert steps_to_start(ready, [{}], 2) == ["a"]
    assert steps_to_start(ready, [{}, {}], 2) == []
    assert steps_to_start([], [], 2) == []


def test_a_key_limit_counts_every_value_and_does_not_block_later_steps() -> None:
    limits = [TagConcurrencyLimit("db", 1)]
    ready = [("a", {"db": "x"}), ("b", {"db": "y"}), ("c", {})]
    assert steps_to_start(ready, [], 5, limits) == ["a", "c"]
    assert steps_to_start(ready, [{"db": "z"}], 5, limits) == ["c"]


def test_a_key_value_limit_only_counts_that_value() -> None:
    limits = [TagConcurrencyLimit("db", 1, "x")]
    ready = [("a", {"db": "x"}), ("b", {"db": "x"}), ("c", {"db": "y"})]
    assert steps_to_start(ready, [], 5, limits) == ["a", "c"]


def test_a_per_unique_value_limit_counts_each_value_apart() -> None:
    limits = [TagConcurrencyLimit("team", 1, None, True)]
    ready = [("a", {"team": "x"}), ("b", {"team": "x"}), ("c", {"team": "y"})]
    assert steps_to_start(ready, [], 5, limits) == ["a", "c"]
    assert steps_to_start(ready, [{"team": "y"}], 5, limits) == ["a"]


def test_limits_combine() -> None:
    limits = [TagConcurrencyLimit("db", 2), TagConcurrencyLimit("db", 1, "x")]
    ready = [("a", {"db": "x"}), ("b", {"db": "x"}), ("c", {"db": "y"}), ("d", {"db": "y"})]
    assert steps_to_start(ready, [], 5, limits) == ["a", "c"]


# -- the pipe and exit codes ------------------------------------------------------------------
def test_split_frames_keeps_a_partial_message_for_later() -> None:
    buffer = bytearray(b"\x00\x00\x00\x03abc\x00\x00\x00\x02d")
    assert split_frames(buffer) == [b"abc"]
    assert buffer == bytearray(b"\x00\x00\x00\x02d")
    buffer += b"e"
    assert split_frames(buffer) == [b"de"]
    assert buffer == bytearray()


def test_describe_exit() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "was killed by signal SIGKILL"
