"""Running the real `helm` on the chart: lint, template, and the rendered manifests as dicts.

helm gets homes of its own (`HELM_CACHE_HOME`, `HELM_CONFIG_HOME`, `HELM_DATA_HOME`), so the
tests neither read nor change a developer's helm setup and need no network. A `Helm` with a
`kubeconfig` talks to that API (the tests' emulated one): `helm template --dry-run=server`
then answers the chart's `lookup` calls from it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from tests.helm.helm_binary import HelmBinary

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "kubedag"
VALUES = Path(__file__).resolve().parent / "values"
VALUES_FILES = sorted(VALUES.glob("*.yaml"))
RELEASE = "kd"
NAMESPACE = "kubedag"


class HelmFailed(AssertionError):
    """helm exited non-zero; the message holds its stderr."""


@dataclass(frozen=True)
class Helm:
    binary: HelmBinary
    home: Path
    kubeconfig: Path | None = None

    def against(self, kubeconfig: Path) -> Helm:
        """The same helm, talking to the API of `kubeconfig`."""
        return replace(self, kubeconfig=kubeconfig)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return subprocess.run(
            [str(self.binary.path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def _checked(self, *args: str) -> str:
        answer = self.run(*args)
        if answer.returncode != 0:
            raise HelmFailed(
                f"helm {' '.join(args)} failed ({answer.returncode}):\n{answer.stderr}"
            )
        return answer.stdout

    @staticmethod
    def _value_args(values: Path | None, sets: dict[str, str] | None) -> list[str]:
        args = ["-f", str(values)] if values is not None else []
        for key, value in (sets or {}).items():
            args += ["--set", f"{key}={value}"]
        return args

    def lint(self, values: Path | None = None, sets: dict[str, str] | None = None) -> str:
        return self._checked("lint", "--strict", str(CHART), *self._value_args(values, sets))

    def template_text(
        self,
        values: Path | None = None,
        sets: dict[str, str] | None = None,
        *,
        include_crds: bool = False,
        namespace: str = NAMESPACE,
        flags: Sequence[str] = (),
    ) -> str:
        args = ["template", RELEASE, str(CHART), "--namespace", namespace, *flags]
        if include_crds:
            args.append("--include-crds")
        return self._checked(*args, *self._value_args(values, sets))

    def template(
        self,
        values: Path | None = None,
        sets: dict[str, str] | None = None,
        *,
        include_crds: bool = False,
        namespace: str = NAMESPACE,
        flags: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        text = self.template_text(
            values, sets, include_crds=include_crds, namespace=namespace, flags=flags
        )
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def notes(self, values: Path | None = None) -> str:
        """NOTES.txt as `helm install` prints it. `helm template` never renders NOTES.txt, and
        only helm 4 runs `install --dry-run=client` without a cluster."""
        args = ["install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client"]
        output = self._checked(*args, *self._value_args(values, None))
        assert "NOTES:" in output, output
        return output.split("NOTES:", 1)[1]

    def rejected(
        self,
        values: Path | None = None,
        sets: dict[str, str] | None = None,
        *,
        namespace: str = NAMESPACE,
        flags: Sequence[str] = (),
    ) -> str:
        """helm's error for values the chart must refuse (fails the test if it renders)."""
        answer = self.run(
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            namespace,
            *flags,
            *self._value_args(values, sets),
        )
        assert answer.returncode != 0, f"helm accepted {sets} on top of {values}"
        return answer.stderr


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m.get("kind") == kind]


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, got {[m['metadata']['name'] for m in found]}"
    return found[0]
