"""`EnvVar`: a reference to an environment variable, read when a run starts.

An `EnvVar` is a `str` holding the variable's *name*, so it fits any `str` field of a resource.
The value is only read when the resource is initialized for a run, and it is never written to
run storage, events or logs: what is stored is the reference.
"""

from __future__ import annotations

import os

from kubedag.errors import EnvVarNotSetError


class EnvVar(str):
    """`EnvVar("API_TOKEN")`: the value of `$API_TOKEN` when the run starts."""

    __slots__ = ()

    def __new__(cls, name: str) -> EnvVar:
        if not name or not isinstance(name, str):
            raise ValueError("EnvVar needs the name of an environment variable.")
        return super().__new__(cls, name)

    @property
    def env_var_name(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return self.env_var_name

    def get_value(self, default: str | None = None) -> str | None:
        return os.environ.get(self.env_var_name, default)

    def resolve(self, field: str) -> str:
        """The value, or an error naming the field and the variable when it is not set."""
        value = os.environ.get(self.env_var_name)
        if value is None:
            raise EnvVarNotSetError(
                f"{field} is read from environment variable {self.env_var_name}, which is not "
                f"set. Set {self.env_var_name} in the environment of the run."
            )
        return value

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"


def resolve_env_refs(value: object, field: str) -> object:
    """Replace `{"env": "NAME"}` and `EnvVar` references anywhere in a config value."""
    if isinstance(value, EnvVar):
        return value.resolve(field)
    if isinstance(value, dict):
        if set(value) == {"env"} and isinstance(value["env"], str):
            return EnvVar(value["env"]).resolve(field)
        return {k: resolve_env_refs(v, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env_refs(v, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
