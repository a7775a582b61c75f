"""Which executor a run uses, checked before anything runs.

The choice, first match wins:
1. run config naming a built-in executor: `execution: {config: {multiprocess: {…}}}` or
   `execution: {config: {in_process: {}}}`;
2. the job's own executor (`@job(executor_def=…)`, `define_asset_job(executor_def=…)`,
   `Definitions(executor=…)`), configured by `execution: {config: {…}}`;
3. `multi_or_in_process_executor`, the reference's default: multiprocess unless its config says
   `in_process`.

`materialize()` and `execute_in_process()` always run in this process, as the reference's do:
their execution config is still checked against the executor it names, and only its `retries`
is kept. `execute_run` (the run worker) and `dg.execute_job` use the choice as made.

Everything here is checked before a run record exists (`check_persistent_outputs`) or before it
starts (`check_run_requirements`), and every error names the run config field, e.g.
`execution.config.multiprocess.max_concurrent: …`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.errors import InvalidConfigError
from kubedag.execution.executors import (
    Executor,
    ExecutorDefinition,
    ExecutorRequirement,
    InitExecutorContext,
    in_process_executor,
)
from kubedag.execution.multiprocess.definition import multiprocess_executor

SELECTOR_NAMES = ("multiprocess", "in_process")


def _check_selector(config: Mapping[str, Any], field: str) -> None:
    name, inner = selected(config, field)
    _builtin(name).validate(inner, f"{field}.{name}")


def selected(config: Mapping[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    """The executor `multi_or_in_process_executor`'s config names, and its config."""
    if not isinstance(config, Mapping):
        raise InvalidConfigError(f"{field}: expected a mapping; got {type(config).__name__}.")
    for key in config:
        if key not in SELECTOR_NAMES:
            raise InvalidConfigError(
                f"{field}.{key}: the default executor runs either multiprocess or in_process; "
                f"put its options under one of them, for example execution: {{config: "
                f"{{multiprocess: {{{key}: …}}}}}}."
            )
    if len(config) > 1:
        raise InvalidConfigError(
            f"{field}: name one executor, multiprocess or in_process, not both."
        )
    name = next(iter(config), "multiprocess")
    inner = config.get(name) or {}
    if not isinstance(inner, Mapping):
        raise InvalidConfigError(
            f"{field}.{name}: expected a mapping of options; got {type(inner).__name__}."
        )
    return name, dict(inner)


def _builtin(name: str) -> ExecutorDefinition:
    return multiprocess_executor if name == "multiprocess" else in_process_executor


def _multi_or_in_process(context: InitExecutorContext) -> Executor:
    name, inner = selected(context.executor_config, "config")
    return _builtin(name).create(context.job, inner, context.instance)


def _multi_or_in_process_requirements(config: Mapping[str, Any]) -> list[ExecutorRequirement]:
    name, _ = selected(config, "config")
    return [ExecutorRequirement.PERSISTENT_OUTPUTS] if name == "multiprocess" else []


multi_or_in_process_executor = ExecutorDefinition(
    "multi_or_in_process_executor",
    requirements=_multi_or_in_process_requirements,
    executor_creation_fn=_multi_or_in_process,
    description=(
        "The default executor: multiprocess (execution: {config: {multiprocess: {…}}}) unless "
        "run config says in_process (execution: {config: {in_process: {}}})."
    ),
    check_config=_check_selector,
)


def _kind(definition: ExecutorDefinition) -> str | None:
    """Which built-in executor a definition is (`.configured` copies included), or None."""
    creation = definition.executor_creation_fn
    for name, builtin in (
        ("multiprocess", multiprocess_executor),
        ("in_process", in_process_executor),
        ("multi_or_in_process", multi_or_in_process_executor),
    ):
        if creation is builtin.executor_creation_fn:
            return name
    return None


@dataclass(frozen=True)
class ExecutorChoice:
    """The executor a run uses and its config (the definition's configured defaults merged
    with run config), checked. `field` is where that config lives in run config."""

    executor_def: ExecutorDefinition
    config: dict[str, Any] = field(default_factory=dict)
    field: str = "execution.config"

    @property
    def requirements(self) -> list[ExecutorRequirement]:
        return self.executor_def.get_requirements(self.config)

    @property
    def is_multiprocess(self) -> bool:
        return _kind(self.executor_def) == "multiprocess"

    def create(self, job: Any, instance: Any) -> Executor:
        return self.executor_def.create(job, self.config, instance)


def choose_executor(
    job: Any, execution: Mapping[str, Any], *, in_process: bool = False
) -> ExecutorChoice:
    """The executor for a run of `job`, from its run config's `execution` section (see the
    module docstring for the order). `in_process=True` (materialize, execute_in_process) keeps
    the checks but always answers the in-process executor."""
    config = dict(execution.get("config") or {})
    job_def: ExecutorDefinition = getattr(job, "executor_def", None) or multi_or_in_process_executor
    kind = _kind(job_def)
    if kind is None:  # a user's @executor: its config is all it says
        if in_process:
            return ExecutorChoice(in_process_executor)
        merged = {**job_def.default_config, **config}
        return ExecutorChoice(job_def, dict(job_def.validate(merged, "execution.config")))
    choice = _choose_builtin(job_def, kind, config)
    if choice.config:  # an empty config is valid for every built-in executor
        choice.executor_def.validate(choice.config, choice.field)
    if in_process and _kind(choice.executor_def) != "in_process":
        retries = choice.config.get("retries")
        kept = {"retries": retries} if retries is not None else {}
        return ExecutorChoice(in_process_executor, kept, choice.field)
    return choice


def _choose_builtin(
    job_def: ExecutorDefinition, kind: str, config: dict[str, Any]
) -> ExecutorChoice:
    names_one = len(config) == 1 and next(iter(config)) in SELECTOR_NAMES
    if kind == "multi_or_in_process":
        defaults = dict(job_def.default_config)
        merged = config or defaults
        if names_one and isinstance(config[next(iter(config))], Mapping | None):
            name = next(iter(config))
            base = defaults.get(name) if set(defaults) <= {name} else None
            merged = {name: {**(base or {}), **(config[name] or {})}}
        name, inner = selected(merged, "execution.config")
        return ExecutorChoice(_builtin(name), inner, f"execution.config.{name}")
    if names_one:
        name = next(iter(config))
        inner = config[name] or {}
        if not isinstance(inner, Mapping):
            raise InvalidConfigError(
                f"execution.config.{name}: expected a mapping of options; got "
                f"{type(inner).__name__}."
            )
        if name == kind:  # the job's executor, with its configured defaults
            return ExecutorChoice(
                job_def, {**job_def.default_config, **inner}, f"execution.config.{name}"
            )
        return ExecutorChoice(_builtin(name), dict(inner), f"execution.config.{name}")
    return ExecutorChoice(job_def, {**job_def.default_config, **config}, "execution.config")


# -- requirements ---------------------------------------------------------------------------------
def check_persistent_outputs(
    choice: ExecutorChoice, resource_defs: Mapping[str, Any], io_manager_keys: Iterable[str]
) -> None:
    """Steps in separate processes pass values through I/O managers: refuse in-memory ones
    before the run starts, rather than fail at the first step that loads an input."""
    if ExecutorRequirement.PERSISTENT_OUTPUTS not in choice.requirements:
        return
    for key in sorted(set(io_manager_keys)):
        if _is_in_memory(resource_defs.get(key)):
            raise InvalidConfigError(
                f"resources.{key}: the {choice.executor_def.name} executor runs each step in a "
                f"process of its own and passes outputs between them through I/O managers, but "
                f"'{key}' keeps values in memory (the default io_manager on an ephemeral "
                "instance). Run on a persistent instance (dg.Instance.get(), or "
                "dg.Instance.from_config({}, home=DIR)), bind a persistent I/O manager "
                f"(resources={{'{key}': dg.FilesystemIOManager(base_dir=…)}}), or run in "
                "process (execution: {config: {in_process: {}}})."
            )


def _is_in_memory(definition: Any) -> bool:
    from kubedag.resources.io_manager import InMemoryIOManager, mem_io_manager

    return isinstance(definition, InMemoryIOManager) or definition is mem_io_manager


def check_run_requirements(choice: ExecutorChoice, run: Any, instance: Any) -> None:
    """What can only be checked with the run record: a multiprocess executor that starts a
    fresh interpreter per step needs the run's code location and a shareable instance."""
    if not choice.is_multiprocess:
        return
    from kubedag.execution.multiprocess.config import parse_multiprocess_config

    config = parse_multiprocess_config(choice.config, choice.field)
    if config.start_method == "fork":
        return
    where = f"{choice.field}.start_method"
    if getattr(instance, "is_ephemeral", False):
        raise InvalidConfigError(
            f"{where}: '{config.start_method}' starts each step in a fresh interpreter, which "
            "must open the instance again, and an ephemeral instance lives in one process. Use "
            "a persistent instance, or start_method fork (the default on Linux)."
        )
    if not run.code_location:
        raise InvalidConfigError(
            f"{where}: '{config.start_method}' starts each step in a fresh interpreter, which "
            "must load the job again from its code location, and this run has none "
            "(Run.code_location is empty: it was not launched from a code location). Use "
            "start_method fork (the default on Linux), or launch the run from a code location "
            "(kubedag run-worker)."
        )
