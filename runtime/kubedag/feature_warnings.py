"""Warnings about the maturity of an API: beta, preview, superseded, deprecated.

They are the reference's categories, so a filter written for it works here:
`warnings.filterwarnings("ignore", category=dg.BetaWarning)`. `PreviewWarning` and `BetaWarning`
are plain `Warning`s (shown by default), `SupersessionWarning` a `FutureWarning`, and
`deprecation_warning` emits a `DeprecationWarning` that says when the thing goes away.
`ConfigArgumentWarning` (a `SyntaxWarning`) is for a decorated function whose parameter is typed
with a `Config` class but is not named `config`, so it would be read as an input.

`stacklevel` works as in `warnings.warn`, counted from the caller of these helpers' caller by
default (3): the warning points at the user's line that used the deprecated thing.
"""

from __future__ import annotations

import warnings


class PreviewWarning(Warning):
    """An API in preview: it may change in a patch release."""


class BetaWarning(Warning):
    """An API in beta: it may change in a minor release."""


class SupersessionWarning(FutureWarning):
    """An API that still works but has a better replacement."""


class ConfigArgumentWarning(SyntaxWarning):
    """A parameter typed with a `Config` class is not named `config`."""


def deprecation_warning(
    subject: str,
    breaking_version: str,
    additional_warn_text: str | None = None,
    stacklevel: int = 3,
) -> None:
    """Warn that `subject` is deprecated and will be removed in `breaking_version`."""
    extra = f" {additional_warn_text}" if additional_warn_text else ""
    warnings.warn(
        f"{subject} is deprecated and will be removed in {breaking_version}.{extra}",
        category=DeprecationWarning,
        stacklevel=stacklevel,
    )


def beta_warning(
    subject: str, additional_warn_text: str | None = None, stacklevel: int = 3
) -> None:
    """Warn that `subject` is in beta."""
    extra = f" {additional_warn_text}" if additional_warn_text else ""
    warnings.warn(
        f"{subject} is currently in beta, and may have breaking changes in minor version "
        f"releases, with behavior changes in patch releases.{extra}",
        category=BetaWarning,
        stacklevel=stacklevel,
    )


def preview_warning(
    subject: str, additional_warn_text: str | None = None, stacklevel: int = 3
) -> None:
    """Warn that `subject` is in preview."""
    extra = f" {additional_warn_text}" if additional_warn_text else ""
    warnings.warn(
        f"{subject} is currently in preview, and may have breaking changes in patch version "
        f"releases. This feature is not considered ready for production use.{extra}",
        category=PreviewWarning,
        stacklevel=stacklevel,
    )


def supersession_warning(
    subject: str, additional_warn_text: str | None = None, stacklevel: int = 3
) -> None:
    """Warn that `subject` is superseded."""
    extra = f" {additional_warn_text}" if additional_warn_text else ""
    warnings.warn(
        f"{subject} is superseded and its usage is discouraged.{extra}",
        category=SupersessionWarning,
        stacklevel=stacklevel,
    )


def config_argument_warning(param_name: str, function_name: str) -> None:
    """Warn that `param_name` of `function_name` is typed with a `Config` class but is not
    named `config`, so kubedag reads it as an input."""
    warnings.warn(
        f"Parameter '{param_name}' on op/asset function '{function_name}' was annotated as a "
        "Config type. Did you mean to name this parameter 'config' instead? To mute this "
        "warning: warnings.filterwarnings('ignore', category=dg.ConfigArgumentWarning).",
        category=ConfigArgumentWarning,
        stacklevel=4,
    )
