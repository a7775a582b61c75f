"""The names `import kubedag as dg` offers, one module per area, each a plain `NAMES` dict of
name -> defining module. They import nothing else, so reading them costs no more than the
dicts; `kubedag/__init__.py` loads a name's module when the name is first used. A name given
by two areas is a mistake that would hide one of them, so it fails the import.
"""

from kubedag.names import (
    config_resources,
    config_schema,
    dagster_types,
    definitions,
    errors,
    execution,
    graphs_outputs,
    hooks,
    instance_runs,
    io_resources,
    loggers,
    metadata,
    observations,
)

AREAS = (
    definitions,
    config_resources,
    execution,
    instance_runs,
    errors,
    config_schema,
    dagster_types,
    graphs_outputs,
    hooks,
    io_resources,
    metadata,
    observations,
    loggers,
)


def _merged() -> dict[str, str]:
    merged: dict[str, str] = {}
    for area in AREAS:
        for name, module in area.NAMES.items():
            if name in merged:
                raise ImportError(f"kubedag.names: {name!r} is given by two areas")
            merged[name] = module
    return merged


EXPORTS = _merged()
