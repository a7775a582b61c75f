"""What every command that reads a code location shares: its `-f/-m/-a` arguments, loading
it, the asset job a selection names, and a run config file."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubedag.code_location.load import load_definitions
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.definitions import Definitions
from kubedag.definitions.job import JobDefinition
from kubedag.definitions.selection import AssetSelection
from kubedag.errors import InvalidConfigError, InvalidDefinitionError


def add_code_location_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "-f", "--python-file", metavar="FILE", help="Python file that defines dg.Definitions"
    )
    where.add_argument(
        "-m",
        "--module-name",
        metavar="MODULE",
        help="importable module that defines dg.Definitions (the current directory is on the path)",
    )
    parser.add_argument(
        "-a",
        "--attribute",
        metavar="ATTRIBUTE",
        help="name of the dg.Definitions object, when the module has several",
    )


def load_code_location(args: argparse.Namespace) -> Definitions:
    if args.module_name is not None and os.getcwd() not in sys.path:
        # As with `python -m`, modules in the current directory are importable.
        sys.path.insert(0, os.getcwd())
    return load_definitions(
        python_file=args.python_file, module_name=args.module_name, attribute=args.attribute
    )


def load_run_config(path: str) -> dict[str, Any]:
    """A run config file's contents; every problem is an `InvalidConfigError` naming the file."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidConfigError(
            f"Run config file '{path}' cannot be read: {exc.strerror or exc}."
        ) from None
    # libyaml when present: ~15x faster on a large file (10 MB: 0.4 s instead of 6.5 s).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        value = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise InvalidConfigError(f"Run config file '{path}' is not valid YAML: {detail}.") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidConfigError(
            f"Run config file '{path}' must hold a mapping (ops:, resources:, loggers:, "
            f"execution:); it holds a {type(value).__name__}."
        )
    return value


def selected_job(defs: Definitions, select: Sequence[str] | None) -> JobDefinition:
    """The code location's asset job, restricted to `select` (asset keys) when given."""
    if not defs.asset_graph.materializable_keys:
        raise InvalidDefinitionError(
            "The code location defines no assets to materialize; add @dg.asset functions to "
            "its dg.Definitions(assets=[...])."
        )
    job = defs.get_implicit_global_asset_job_def()
    if not select:
        return job
    keys = [AssetKey.from_user_string(text) for text in select]
    return job.with_asset_selection(AssetSelection.keys(*keys))
