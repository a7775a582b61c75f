"""Run config from YAML: files (glob patterns allowed), strings, or resources inside Python
packages, each a mapping, merged in order (a later document's values win; mappings are merged
key by key, anything else is replaced)."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from typing import Any

from kubedag.config.run_config import merge_config
from kubedag.errors import ConfigFileError


def _parse(text: str, where: str) -> dict[str, Any]:
    import yaml  # only when config is read from YAML: keeps `import kubedag` light

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = str(exc).replace("\n", " ")
        raise ConfigFileError(f"{where} is not valid YAML: {detail}") from None
    if not isinstance(value, dict):
        raise ConfigFileError(
            f"{where} must hold a YAML mapping (a run config dict); got "
            f"{'nothing' if value is None else type(value).__name__}."
        )
    return value


def _merged(documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for document in documents:
        result = merge_config(result, document)
    return result


def config_from_yaml_strings(yaml_strings: Sequence[str]) -> dict[str, Any]:
    """The run config that the YAML documents in `yaml_strings` make, merged in order."""
    return _merged(
        _parse(text, f"YAML string {index + 1} of {len(yaml_strings)}")
        for index, text in enumerate(yaml_strings)
    )


def config_from_files(config_files: Sequence[str]) -> dict[str, Any]:
    """The run config of the YAML files (or glob patterns) in `config_files`, merged in order."""
    documents = []
    for pattern in config_files:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if glob.has_magic(pattern) and not paths:
            raise ConfigFileError(f"Config file pattern '{pattern}' matches no file.")
        for path in paths:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                raise ConfigFileError(f"Config file '{path}' does not exist.") from None
            except OSError as exc:
                raise ConfigFileError(
                    f"Config file '{path}' cannot be read: {exc.strerror}."
                ) from None
            documents.append(_parse(text, f"Config file '{path}'"))
    return _merged(documents)


def config_from_pkg_resources(pkg_resource_defs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The run config of YAML files shipped inside Python packages, given as (package, file
    name) pairs, merged in order."""
    from importlib import resources

    documents = []
    for package, name in pkg_resource_defs:
        where = f"Package resource '{name}' of '{package}'"
        try:
            text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        except ModuleNotFoundError:
            raise ConfigFileError(f"{where}: no package '{package}' can be imported.") from None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ConfigFileError(f"{where} does not exist.") from None
        documents.append(_parse(text, where))
    return _merged(documents)
