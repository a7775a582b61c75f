"""What an op's return annotation says about each of its outputs.

`-> int` types the single output; `-> dg.Output[int]` says the function returns an `Output`
wrapping an int, so the output's type is int; with several outputs (`out={"a": Out(), "b":
Out()}`), `-> tuple[int, dg.Output[str]]` types them in order.
"""

from __future__ import annotations

import typing
from typing import Any

from kubedag.definitions.signature import NO_ANNOTATION


def _is_output_class(origin: Any) -> bool:
    # `Output[int]` forwards `__name__` to `Output`: only a class itself counts here.
    return (
        isinstance(origin, type)
        and getattr(origin, "__name__", None) in ("Output", "DynamicOutput")
        and (getattr(origin, "__module__", "").startswith("kubedag.definitions."))
    )


def unwrap_output_annotation(annotation: Any) -> Any:
    """`Output[T]` (or `DynamicOutput[T]`) as `T`, a bare `Output` as no annotation; any other
    annotation unchanged."""
    if annotation is NO_ANNOTATION:
        return annotation
    if _is_output_class(annotation):
        return NO_ANNOTATION
    if _is_output_class(typing.get_origin(annotation)):
        args = typing.get_args(annotation)
        return args[0] if args else NO_ANNOTATION
    return annotation


def per_output_annotations(annotation: Any, count: int) -> list[Any]:
    """The type of each of `count` outputs, from a `tuple[...]` return annotation (None for
    an output it does not type)."""
    annotation = unwrap_output_annotation(annotation)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if len(args) == count and Ellipsis not in args:
            return [_or_none(unwrap_output_annotation(arg)) for arg in args]
    return [None] * count


def _or_none(annotation: Any) -> Any:
    return None if annotation is NO_ANNOTATION else annotation
