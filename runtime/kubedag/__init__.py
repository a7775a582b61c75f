"""kubedag: data orchestration around software-defined assets, Kubernetes-native.

`import kubedag as dg` gives the user-facing names of the reference system. Names are loaded on
first use (PEP 562 `__getattr__`), so `import kubedag` stays fast and a process that never
touches `dg.Config` never imports pydantic.
"""

from __future__ import annotations

import importlib
from typing import Any

from kubedag.names import EXPORTS as _EXPORTS
from kubedag.version import __version__ as __version__

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubedag' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


# -- the engine behind the definitions' convenience methods (definitions/engine.py) ----------
# Each function imports its layer when first called, so `import kubedag` stays light.


def _job_from_graph(graph: Any, **kwargs: Any) -> Any:
    from kubedag.definitions.job import JobDefinition

    return JobDefinition.from_graph(graph, **kwargs)


def _execute_job(job: Any, **kwargs: Any) -> Any:
    from kubedag.execution.run import execute_job

    return execute_job(job, **kwargs)


def _invoke_op(op: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    from kubedag.execution.invocation import invoke_directly

    return invoke_directly(op, args, kwargs)


def _evaluate_schedule(schedule: Any, context: Any) -> Any:
    from kubedag.automation.schedules import evaluate_schedule

    return evaluate_schedule(schedule, context)


def _evaluate_sensor(sensor: Any, context: Any) -> Any:
    from kubedag.automation.sensors import evaluate_sensor

    return evaluate_sensor(sensor, context)


def _ephemeral_instance() -> Any:
    from kubedag.instance.instance import Instance

    return Instance.ephemeral()


def _instance_from_ref(ref_json: str) -> Any:
    from kubedag.instance.instance import Instance
    from kubedag.records.instance_ref import InstanceRef

    return Instance.from_ref(InstanceRef.from_json(ref_json))


def _asset_value_loader(defs: Any, instance: Any) -> Any:
    from kubedag.execution.asset_value_loader import AssetValueLoader

    if instance is None:
        from kubedag.instance.instance import Instance

        instance = Instance.get()
    graph = defs.asset_graph
    return AssetValueLoader(
        dict(graph.producer), instance, resource_defs=defs.resources, specs_by_key=graph.specs
    )


def _install_engine() -> None:
    from kubedag.definitions.engine import Engine, install_engine

    install_engine(
        Engine(
            job_from_graph=_job_from_graph,
            execute_job=_execute_job,
            invoke_op=_invoke_op,
            evaluate_schedule=_evaluate_schedule,
            evaluate_sensor=_evaluate_sensor,
            ephemeral_instance=_ephemeral_instance,
            instance_from_ref=_instance_from_ref,
            asset_value_loader=_asset_value_loader,
        )
    )


_install_engine()
