"""Kubernetes object names for the jobs and schedules of a code location.

A job or schedule name in Python (`daily_refresh`, `__ASSET_JOB`) is rarely a valid Kubernetes
name, which must be a DNS-1123 label here: at most 63 characters of `a-z`, `0-9` and `-`,
starting and ending with a letter or digit. (Custom resource names may be longer subdomains, but
a schedule's name also becomes a label value on its Runs, which is capped at 63.)

The derivation is deterministic, so re-running `kubedag manifests` names the same objects:
lowercase, every run of other characters becomes one `-`, and the code location's name goes in
front (`quickstart-daily-refresh`), so two code locations in one namespace never fight over a
name. A result longer than 63 characters is cut and ends with 8 hex digits of a digest of the
full name, so two long names that share a prefix stay apart. The real name is kept in the spec
(`jobName`), so nothing is lost; two names that become the same object name (`daily_refresh`
and `Daily-Refresh`) are an error, never silently merged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from kubedag.errors import InvalidDefinitionError

MAX_NAME_LENGTH = 63
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_DIGEST_LENGTH = 8


def is_dns_label(text: str) -> bool:
    """Whether `text` is a valid DNS-1123 label (what a Kubernetes name can always be)."""
    return len(text) <= MAX_NAME_LENGTH and DNS_LABEL.match(text) is not None


def check_code_location_name(name: str) -> str:
    """`name` itself, when it can name a `CodeLocation` and prefix its jobs' names; the user
    chose it, so it is checked rather than rewritten."""
    # Room for `-` and at least a few characters of each job or schedule name.
    limit = MAX_NAME_LENGTH - 1 - _DIGEST_LENGTH - 4
    if not DNS_LABEL.match(name) or len(name) > limit:
        raise InvalidDefinitionError(
            f"--code-location {name!r} is not a valid name: use at most {limit} lowercase "
            "letters, digits and '-', starting and ending with a letter or digit (for example "
            "'quickstart' or 'sales-pipelines')."
        )
    return name


def object_name(location: str, name: str) -> str:
    """The Kubernetes name of job or schedule `name` of code location `location`."""
    words = _NOT_NAME_CHARS.sub("-", name.lower()).strip("-")
    if not words:
        raise InvalidDefinitionError(
            f"Cannot derive a Kubernetes name from {name!r}: it has no letter or digit. "
            "Rename it in the code."
        )
    full = f"{location}-{words}"
    if len(full) <= MAX_NAME_LENGTH:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST_LENGTH]
    cut = full[: MAX_NAME_LENGTH - _DIGEST_LENGTH - 1].rstrip("-")
    return f"{cut}-{digest}"


def object_names(kind: str, location: str, stems: Mapping[str, str]) -> dict[str, str]:
    """`{name in the code: object name}` for the `kind`s (`job`, `schedule`) of a code
    location, each derived from its stem (`stems[name]`, usually the name itself); raises
    `InvalidDefinitionError` naming both when two would share an object name."""
    result: dict[str, str] = {}
    taken: dict[str, str] = {}
    for name in sorted(stems):
        derived = object_name(location, stems[name])
        if derived in taken:
            raise InvalidDefinitionError(
                f"The {kind}s {taken[derived]!r} and {name!r} would both become the {kind} "
                f"object {derived!r} (Kubernetes names are lowercase letters, digits and '-'). "
                f"Rename one of them in the code."
            )
        taken[derived] = name
        result[name] = derived
    return result
