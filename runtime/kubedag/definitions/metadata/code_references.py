"""Code references: where an asset's code lives, as `dagster/code_references` metadata.

`with_source_code_references([...])` records, for every asset computed by a decorated function,
the file and line of that function (`LocalFileCodeReference`). Deployed code has no use for a
path on the developer's machine, so `link_code_references_to_git(...)` turns each local file
reference into a link to the same line in the repository's web view (`UrlCodeReference`), using
a `FilePathMapping` to translate local paths into paths inside the repository. Both return new
definitions; the ones given are left alone. External assets (`AssetSpec`s) have no code, so they
pass through unchanged.
"""

from __future__ import annotations

import inspect
import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kubedag.definitions.metadata.values import MetadataValue

CODE_REFERENCES_KEY = "dagster/code_references"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalFileCodeReference:
    """A file (and optionally a line) on the machine the code was loaded on."""

    file_path: str
    line_number: int | None = None
    label: str | None = None

    @property
    def source(self) -> str:
        return f"{self.file_path}:{self.line_number}" if self.line_number else self.file_path


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlCodeReference:
    """A link to the code, usually a line of a file in a hosted git repository."""

    url: str
    label: str | None = None

    @property
    def source(self) -> str:
        return self.url


CodeReference = LocalFileCodeReference | UrlCodeReference


@dataclass(frozen=True, slots=True, init=False)
class CodeReferencesMetadataValue(MetadataValue):
    """The code references of an asset, kept under the `dagster/code_references` key."""

    code_references: list[CodeReference]

    def __init__(self, *, code_references: Sequence[CodeReference]) -> None:
        references = list(code_references)
        for reference in references:
            if not isinstance(reference, LocalFileCodeReference | UrlCodeReference):
                raise TypeError(
                    "CodeReferencesMetadataValue(code_references=…) holds "
                    f"dg.LocalFileCodeReference or dg.UrlCodeReference; got {reference!r}."
                )
        object.__setattr__(self, "code_references", references)

    @property
    def value(self) -> CodeReferencesMetadataValue:
        return self


class FilePathMapping(ABC):
    """Turns a local file path into the path of the same file inside the repository."""

    @abstractmethod
    def convert_to_source_control_path(self, local_path: Path) -> str: ...


@dataclass(frozen=True)
class AnchorBasedFilePathMapping(FilePathMapping):
    """Maps paths by one known pair: `local_file_anchor` (a local file or folder) is
    `file_anchor_path_in_repository` in the repository; every other path is taken relative to
    the anchor."""

    local_file_anchor: Path
    file_anchor_path_in_repository: str

    def convert_to_source_control_path(self, local_path: Path) -> str:
        relative = os.path.relpath(local_path, self.local_file_anchor)
        joined = posixpath.join(self.file_anchor_path_in_repository, *Path(relative).parts)
        return posixpath.normpath(joined)


# -- attaching and linking ----------------------------------------------------------------------
def _existing(metadata: Any) -> list[CodeReference]:
    value = (metadata or {}).get(CODE_REFERENCES_KEY)
    return list(value.code_references) if isinstance(value, CodeReferencesMetadataValue) else []


def _compute_fn(assets_def: Any) -> Any:
    node = getattr(assets_def, "node", None)
    return getattr(node, "compute_fn", None)


def _local_reference(fn: Any) -> LocalFileCodeReference | None:
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    file = inspect.getsourcefile(fn) if code is not None else None
    if file is None or code is None:
        return None
    return LocalFileCodeReference(file_path=os.path.abspath(file), line_number=code.co_firstlineno)


def _with_references(assets_def: Any, change: Any) -> Any:
    """`assets_def` with each spec's code references replaced by `change(references)`."""
    from kubedag.definitions.assets import AssetsDefinition

    if not isinstance(assets_def, AssetsDefinition):
        return assets_def  # an external AssetSpec: no code of its own

    def update(spec: Any) -> Any:
        references = change(_existing(spec.metadata))
        if not references:
            return spec
        value = CodeReferencesMetadataValue(code_references=references)
        return spec.replace_attributes(metadata={**spec.metadata, CODE_REFERENCES_KEY: value})

    return assets_def.map_asset_specs(update)


def with_source_code_references(assets_defs: Sequence[Any]) -> Sequence[Any]:
    """The assets with the file and line of their function added to their code references."""
    result = []
    for assets_def in assets_defs:
        fn = _compute_fn(assets_def)
        local = _local_reference(fn) if fn is not None else None
        if local is None:
            result.append(assets_def)
            continue
        result.append(_with_references(assets_def, lambda refs, local=local: [*refs, local]))
    return result


def _platform_of(git_url: str) -> Literal["github", "gitlab"]:
    if "gitlab" in git_url:
        return "gitlab"
    if "github" in git_url:
        return "github"
    raise ValueError(
        f"link_code_references_to_git: cannot tell whether {git_url!r} is a GitHub or a GitLab "
        "repository; pass platform='github' or platform='gitlab'."
    )


def link_code_references_to_git(
    assets_defs: Sequence[Any],
    git_url: str,
    git_branch: str,
    file_path_mapping: FilePathMapping,
    platform: Literal["github", "gitlab"] | None = None,
) -> Sequence[Any]:
    """The assets with every local file reference replaced by a link to the same line on the
    branch `git_branch` of the repository at `git_url`."""
    kind = platform or _platform_of(git_url)
    base = git_url.rstrip("/")
    tree = f"{base}/-/tree/{git_branch}" if kind == "gitlab" else f"{base}/tree/{git_branch}"

    def to_url(reference: CodeReference) -> CodeReference:
        if not isinstance(reference, LocalFileCodeReference):
            return reference
        path = file_path_mapping.convert_to_source_control_path(Path(reference.file_path))
        line = f"#L{reference.line_number}" if reference.line_number else ""
        return UrlCodeReference(url=f"{tree}/{path}{line}", label=reference.label)

    return [
        _with_references(assets_def, lambda refs: [to_url(r) for r in refs])
        for assets_def in assets_defs
    ]
