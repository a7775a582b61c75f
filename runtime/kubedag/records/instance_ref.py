"""`InstanceRef`: the address of an instance, for another process to open the same one.

It is a record (a home directory and the unresolved configuration document), so it lives below
the launchers that put it into a worker's environment and the instance that reads it back:
`{env: VAR}` references travel by name, so secrets never leave the environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubedag.errors import InstanceConfigError

INSTANCE_REF_ENV = "KUBEDAG_INSTANCE_REF"


@dataclass(frozen=True)
class InstanceRef:
    """What another process needs to open the same instance: its home and its document, with
    `{env: VAR}` references unresolved."""

    home: str
    document: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"home": self.home, "document": self.document}, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> InstanceRef:
        try:
            data = json.loads(text)
            return InstanceRef(str(data["home"]), dict(data["document"] or {}))
        except (ValueError, KeyError, TypeError) as exc:
            raise InstanceConfigError(f"Not a serialized instance reference: {exc}.") from None
