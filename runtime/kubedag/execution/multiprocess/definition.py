"""`multiprocess_executor`: the definition a job names, apart from the executor it creates.

Choosing and checking an executor (`executor_selection`, before a run exists) needs the
definition and its options; only a run that uses it needs `MultiprocessExecutor` (`executor.py`,
with the step processes and, through them, `multiprocessing`), so that is imported when the
definition creates one: `materialize()` never pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedag.execution.executors import (
    Executor,
    ExecutorDefinition,
    ExecutorRequirement,
    InitExecutorContext,
)
from kubedag.execution.multiprocess.config import parse_multiprocess_config


def _multiprocess(context: InitExecutorContext) -> Executor:
    from kubedag.execution.multiprocess.executor import MultiprocessExecutor

    return MultiprocessExecutor(parse_multiprocess_config(context.executor_config, "config"))


def check_multiprocess_config(config: Mapping[str, Any], field: str) -> None:
    parse_multiprocess_config(config, field)


multiprocess_executor = ExecutorDefinition(
    "multiprocess",
    requirements=[ExecutorRequirement.PERSISTENT_OUTPUTS],
    executor_creation_fn=_multiprocess,
    description=(
        "Runs each step in a child process of its own, up to max_concurrent at a time. Options: "
        "max_concurrent (default: one per CPU), start_method (fork, forkserver or spawn), "
        "tag_concurrency_limits, retries."
    ),
    check_config=check_multiprocess_config,
)
