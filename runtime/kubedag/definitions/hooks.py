"""Hooks: functions that run after a step, on its success or its failure.

A hook is attached to a job (`@job(hooks={...})`, `define_asset_job(hooks=...)`,
`job.with_hooks(...)`) or to one use of an op in a graph (`my_op.with_hooks({...})()`). After
each step it is attached to, the step's events are handed to the hook's `hook_fn`, which says
whether it ran (`HookExecutionResult`): `@success_hook` runs its function when the step
succeeded, `@failure_hook` when it failed. What happens at run time is in
`kubedag.execution.hooks`; a hook that raises is recorded (HOOK_ERRORED) and does not fail the
run.

A hook made by a decorator can also be called directly with a context from `build_hook_context`,
which is how hooks are tested.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.errors import InvalidDefinitionError, InvalidInvocationError


@dataclass(frozen=True)
class HookExecutionResult:
    """What a hook function reports: whether its trigger matched (`is_skipped=False`) or not."""

    hook_name: str
    is_skipped: bool = False

    def __init__(self, hook_name: str, is_skipped: bool | None = None) -> None:
        object.__setattr__(self, "hook_name", hook_name)
        object.__setattr__(self, "is_skipped", bool(is_skipped))


# What a hook decorates (`@my_hook` above `@dg.job`): the same with the hook on every op. Named,
# not imported: those modules import this one.
_HOOKABLE = frozenset({"JobDefinition", "GraphDefinition", "AssetsDefinition"})


class HookDefinition:
    """A named callback over a step's events.

    `hook_fn(context, event_list)` returns a `HookExecutionResult`. `decorated_fn` is the user's
    function, which calling the hook directly runs (`my_hook(build_hook_context())`)."""

    def __init__(
        self,
        *,
        name: str,
        hook_fn: Callable[..., Any],
        required_resource_keys: Iterable[str] | None = None,
        decorated_fn: Callable[..., Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidDefinitionError(
                f"hook name {name!r} is not valid: use letters, digits and underscores."
            )
        if not callable(hook_fn):
            raise InvalidDefinitionError(f"hook '{name}': hook_fn must be callable.")
        self.name = name
        self.hook_fn = hook_fn
        self.required_resource_keys: frozenset[str] = frozenset(required_resource_keys or ())
        self.decorated_fn = decorated_fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """On a job, graph or asset: the same with this hook on every op. Otherwise, run the
        decorated function with the given context (and event list, for two-argument hooks)."""
        if len(args) == 1 and not kwargs and type(args[0]).__name__ in _HOOKABLE:
            return args[0].with_hooks({self})
        if self.decorated_fn is None:
            raise InvalidInvocationError(
                "Only hook definitions created using one of the hook decorators can be invoked."
            )
        params = _positional_names(self.decorated_fn)
        given = len(args) + len(kwargs)
        if given != len(params):
            raise InvalidInvocationError(
                f"Hook '{self.name}' expects {len(params)} argument(s) "
                f"({', '.join(params)}), but {given} were provided."
            )
        values = dict(zip(params, args, strict=False))
        for key, value in kwargs.items():
            if key not in params:
                raise InvalidInvocationError(
                    f"Could not find expected argument '{key}'. Hook '{self.name}' takes "
                    f"{', '.join(params)}."
                )
            values[key] = value
        context = values[params[0]]
        check = getattr(context, "check_hook_resources", None)
        if check is not None:
            check(self)
        bound = context.bind_hook(self) if hasattr(context, "bind_hook") else context
        return self.decorated_fn(bound, *[values[p] for p in params[1:]])

    def __repr__(self) -> str:
        return f"<HookDefinition {self.name}>"


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _check_hook_fn(fn: Callable[..., Any]) -> None:
    if not callable(fn):
        raise InvalidDefinitionError(f"a hook decorates a function; got {fn!r}.")
    if not _positional_names(fn):
        raise InvalidDefinitionError(
            f"'{getattr(fn, '__name__', fn)}' decorated function does not have required "
            "positional parameter 'context'. A hook function takes the hook context as its "
            "first positional parameter."
        )


def _event_hook(
    fn: Callable[..., Any],
    name: str | None,
    required_resource_keys: Iterable[str] | None,
    triggered: Callable[[Any], bool],
) -> HookDefinition:
    _check_hook_fn(fn)
    hook_name = name or fn.__name__

    def hook_fn(context: Any, event_list: Sequence[Any]) -> HookExecutionResult:
        if any(triggered(event) for event in event_list):
            fn(context)
            return HookExecutionResult(hook_name, is_skipped=False)
        return HookExecutionResult(hook_name, is_skipped=True)

    hook = HookDefinition(
        name=hook_name,
        hook_fn=hook_fn,
        required_resource_keys=required_resource_keys,
        decorated_fn=fn,
    )
    functools.update_wrapper(hook, fn)  # type: ignore[arg-type]
    return hook


def success_hook(
    hook_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Any:
    """A hook that runs its function after a step succeeds: `@success_hook` or
    `@success_hook(name=…, required_resource_keys={…})`."""

    def decorate(fn: Callable[..., Any]) -> HookDefinition:
        return _event_hook(fn, name, required_resource_keys, lambda e: e.is_step_success)

    return decorate(hook_fn) if hook_fn is not None else decorate


def failure_hook(
    name: str | Callable[..., Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Any:
    """A hook that runs its function after a step fails (`context.op_exception` is what it
    raised): `@failure_hook`, `@failure_hook("name")` or
    `@failure_hook(name=…, required_resource_keys={…})`."""
    if callable(name):
        return _event_hook(name, None, None, lambda e: e.is_step_failure)

    def decorate(fn: Callable[..., Any]) -> HookDefinition:
        return _event_hook(fn, name, required_resource_keys, lambda e: e.is_step_failure)

    return decorate


def event_list_hook(
    hook_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Any:
    """A hook given the step's whole event list: `fn(context, event_list)` returns a
    `HookExecutionResult` (what `@success_hook` and `@failure_hook` are built on)."""

    def decorate(fn: Callable[..., Any]) -> HookDefinition:
        if len(_positional_names(fn)) < 2:
            raise InvalidDefinitionError(
                f"'{fn.__name__}' decorated function does not have required positional "
                "parameters 'context' and 'event_list'."
            )
        hook = HookDefinition(
            name=name or fn.__name__,
            hook_fn=fn,
            required_resource_keys=required_resource_keys,
            decorated_fn=fn,
        )
        functools.update_wrapper(hook, fn)  # type: ignore[arg-type]
        return hook

    return decorate(hook_fn) if hook_fn is not None else decorate


def to_hook_set(
    hook_defs: Iterable[HookDefinition] | None, owner: str
) -> frozenset[HookDefinition]:
    """The hooks given to a job or node, checked."""
    hooks = frozenset(hook_defs or ())
    for hook in hooks:
        if not isinstance(hook, HookDefinition):
            raise InvalidDefinitionError(
                f"{owner}: hooks must be HookDefinitions (made with @success_hook or "
                f"@failure_hook); got {hook!r}."
            )
    return hooks


def ordered(hooks: Iterable[HookDefinition]) -> tuple[HookDefinition, ...]:
    """Hooks in the order they run: by name, so a run is the same every time."""
    return tuple(sorted(set(hooks), key=lambda hook: hook.name))


def hooks_by_step(
    steps: Iterable[Any], graph: Any, job_hooks: frozenset[HookDefinition]
) -> dict[str, tuple[HookDefinition, ...]]:
    """Step key → the hooks that run after it: the job's, those of every node on the step's
    path in the graph (`op.with_hooks(...)`, a graph node's apply to all its ops), and its
    asset's. Steps without hooks are left out, so a job without hooks maps nothing."""
    node_hooks: dict[tuple[str, ...], frozenset[HookDefinition]] = {}
    if graph is not None:
        _collect_node_hooks(graph, (), node_hooks)
    if not job_hooks and not node_hooks and not any(_asset_hooks(s) for s in steps):
        return {}
    result: dict[str, tuple[HookDefinition, ...]] = {}
    for step in steps:
        hooks = set(job_hooks) | set(_asset_hooks(step))
        path = step.node_path
        for end in range(1, len(path) + 1):
            hooks.update(node_hooks.get(tuple(path[:end]), ()))
        if hooks:
            result[step.key] = ordered(hooks)
    return result


def _asset_hooks(step: Any) -> frozenset[HookDefinition]:
    hooks: frozenset[HookDefinition] = getattr(step.assets_def, "hook_defs", None) or frozenset()
    return hooks


def _collect_node_hooks(
    graph: Any, prefix: tuple[str, ...], found: dict[tuple[str, ...], frozenset[HookDefinition]]
) -> None:
    for node in graph.nodes:
        path = (*prefix, node.name)
        hooks = getattr(node, "hook_defs", None)
        if hooks:
            found[path] = frozenset(hooks)
        if hasattr(node.definition, "nodes"):
            _collect_node_hooks(node.definition, path, found)
