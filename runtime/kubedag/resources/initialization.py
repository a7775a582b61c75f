"""Initializing resources for a run (or a test), and tearing them down afterwards.

Only the resources a run needs are initialized, dependencies first. Set-up failures are wrapped
in `ResourceInitError` with the resource key; teardown runs in reverse order on an `ExitStack`,
also when the run fails.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Generator, Iterable, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from kubedag.errors import InvalidConfigError, ResourceInitError
from kubedag.resources.definition import (
    InitResourceContext,
    ResourceDefinition,
    call_resource_fn,
)
from kubedag.resources.namespace import ResourceNamespace


def _configurable_classes() -> tuple[Any, Any] | None:
    """`ConfigurableResource` and `PartialResource`, if their (pydantic) module is loaded: when it
    is not, no resource can be an instance of them, and we need not pay for importing it."""
    module = sys.modules.get("kubedag.resources.resource")
    if module is None:
        return None
    return module.ConfigurableResource, module.PartialResource


def check_env_vars(definitions: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Fail before a run starts if a needed resource refers to an unset environment variable."""
    classes = _configurable_classes()
    if classes is None:
        return
    for key in keys:
        definition = definitions.get(key)
        if isinstance(definition, classes[0]):
            for name, env in definition.env_var_fields.items():
                env.resolve(f"resources.{key}.{name}")


def _dependencies(definition: Any) -> frozenset[str]:
    if isinstance(definition, ResourceDefinition):
        return definition.required_resource_keys
    return frozenset()


def initialize_resources(
    definitions: Mapping[str, Any],
    keys: Iterable[str],
    stack: ExitStack,
    *,
    configs: Mapping[str, Any] | None = None,
    instance: Any = None,
    run_id: str | None = None,
    log: Any = None,
) -> dict[str, Any]:
    """Initialize the resources named by `keys` (and what they depend on)."""
    configs = configs or {}
    ready: dict[str, Any] = {}
    visiting: set[str] = set()

    def init(key: str) -> None:
        if key in ready:
            return
        if key in visiting:
            raise InvalidConfigError(f"resources.{key}: resources depend on each other in a cycle.")
        if key not in definitions:
            raise InvalidConfigError(f"resources.{key}: required but not bound.")
        visiting.add(key)
        definition = definitions[key]
        for dep in sorted(_dependencies(definition)):
            init(dep)
        context = InitResourceContext(
            configs.get(key), ResourceNamespace(ready), instance, run_id, log
        )
        ready[key] = _initialize_one(key, definition, context, stack)
        visiting.discard(key)

    for key in sorted(set(keys)):
        init(key)
    return ready


def _initialize_one(
    key: str, definition: Any, context: InitResourceContext, stack: ExitStack
) -> Any:
    classes = _configurable_classes()
    if classes is not None:
        return _initialize_configurable(key, definition, context, stack, *classes)
    return _initialize_plain(key, definition, context, stack)


def _initialize_configurable(
    key: str,
    definition: Any,
    context: InitResourceContext,
    stack: ExitStack,
    configurable: Any,
    partial: Any,
) -> Any:
    if isinstance(definition, partial):
        from kubedag.config.config import validate_model

        definition = validate_model(
            definition.resource_cls, dict(context.resource_config or {}), f"resources.{key}.config"
        )
        context = context.replace_config(None)
    if isinstance(definition, configurable):
        resource = definition.with_runtime_values(key, context.resource_config)
        resource = _with_nested_resources(key, resource, context, stack, configurable, partial)
        try:
            stack.enter_context(resource.yield_for_execution(context))
            return resource.create_resource(context)
        except Exception as exc:
            raise _init_error(key, exc) from exc
    return _initialize_plain(key, definition, context, stack)


def _with_nested_resources(
    key: str,
    resource: Any,
    context: InitResourceContext,
    stack: ExitStack,
    configurable: Any,
    partial: Any,
) -> Any:
    """`resource` with each field that holds a resource (a nested `ConfigurableResource`, or a
    resource definition in a `ResourceDependency` field) set to that resource initialized:
    nested ones are set up first, so they are torn down last."""
    nested: dict[str, Any] = {}
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if isinstance(value, configurable | ResourceDefinition) and not isinstance(value, partial):
            nested_key = f"{key}.{name}"
            config = checked_resource_configs({nested_key: value}, [nested_key], None)
            nested_context = context.replace_config(config.get(nested_key))
            nested[name] = _initialize_one(nested_key, value, nested_context, stack)
    return resource.model_copy(update=nested) if nested else resource


def _initialize_plain(
    key: str, definition: Any, context: InitResourceContext, stack: ExitStack
) -> Any:
    if isinstance(definition, ResourceDefinition):
        try:
            value = call_resource_fn(definition.resource_fn, context)
            if inspect.isgenerator(value):
                return stack.enter_context(_generator_resource(value))
            return value
        except Exception as exc:
            raise _init_error(key, exc) from exc
    if context.resource_config is not None:
        raise InvalidConfigError(
            f"resources.{key}.config: resource '{key}' ({type(definition).__name__}) takes no "
            "config; make it a dg.ConfigurableResource to configure it in run config."
        )
    return definition


def _init_error(key: str, exc: Exception) -> ResourceInitError:
    return ResourceInitError(
        f"Resource '{key}' failed to initialize: {type(exc).__name__}: {exc}",
        resource_key=key,
        user_exception=exc,
    )


@contextmanager
def _generator_resource(gen: Generator[Any, Any, Any]) -> Generator[Any, None, None]:
    value = next(gen)
    try:
        yield value
    finally:
        for _ in gen:
            raise InvalidConfigError("A resource generator must yield exactly once.")


def _unwrapped(entry: Any) -> Any:
    """`{"config": value}` (the run config shape) is `value`; anything else is taken as it is."""
    if isinstance(entry, Mapping) and set(entry) == {"config"}:
        return entry["config"]
    return entry


def checked_resource_configs(
    definitions: Mapping[str, Any], keys: Iterable[str], configs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The config of each function-style resource in `keys` checked against its
    `config_schema`, with defaults filled in (outside a run, which does this when it checks
    its run config); raises `InvalidConfigError` with every problem."""
    result = dict(configs or {})
    schemas = {
        key: definitions[key].config_schema
        for key in keys
        if isinstance(definitions.get(key), ResourceDefinition)
        and definitions[key].config_schema is not None
    }
    if not schemas:
        return result
    from kubedag.config.config_errors import ConfigCheck, config_error
    from kubedag.config.schema import resolved_field

    check = ConfigCheck()
    for key, schema in schemas.items():
        result[key] = resolved_field(schema).process_root(
            result.get(key), f"resources.{key}.config", check
        )
    if check.errors:
        raise config_error(check.errors, "Invalid resource config", configs)
    return result


@contextmanager
def build_resources(
    resources: Mapping[str, Any],
    instance: Any = None,
    resource_config: Mapping[str, Any] | None = None,
) -> Generator[ResourceNamespace, None, None]:
    """Initialize resources outside a run: `with build_resources({...}) as resources:`.

    `resource_config` is shaped as in run config, `{key: {"config": value}}`."""
    check_env_vars(resources, resources)
    configs = {key: _unwrapped(entry) for key, entry in (resource_config or {}).items()}
    with ExitStack() as stack:
        configs = checked_resource_configs(resources, resources.keys(), configs)
        values = initialize_resources(
            resources, resources.keys(), stack, configs=configs, instance=instance
        )
        yield ResourceNamespace(values)
