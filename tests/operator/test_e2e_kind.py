"""End to end on a real cluster (kind): the CRDs applied with kubectl, the operator running
here against the cluster, a Run executed by a real pod.

It runs only where a kind cluster is reachable (Docker, `kind create cluster`), and needs:

- `KUBEDAG_E2E_IMAGE`: an image loaded into the cluster (`kind load docker-image`) with kubedag
  and `examples/quickstart/definitions.py` at `/app/definitions.py`;
- `KUBEDAG_E2E_PG_URL`: a PostgreSQL URL reachable from the pods and from this machine.

Otherwise every test here is skipped, saying which of these is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedag_operator.running import OperatorThread
from kubedag_operator.state import OperatorOptions

REPO = Path(__file__).resolve().parents[2]


def _kind_context() -> str | None:
    """The kubectl context of a reachable kind cluster, or None."""
    if shutil.which("kind") is None or shutil.which("kubectl") is None:
        return None
    try:
        clusters = subprocess.run(
            ["kind", "get", "clusters"], capture_output=True, text=True, timeout=20
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    for cluster in clusters:
        context = f"kind-{cluster}"
        probe = subprocess.run(
            ["kubectl", "--context", context, "get", "--raw", "/readyz"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if probe.returncode == 0:
            return context
    return None


def _skip_reason() -> str | None:
    if shutil.which("kind") is None:
        return "no `kind` binary: the kind end-to-end test needs Docker and kind"
    if shutil.which("kubectl") is None:
        return "no `kubectl` binary"
    if _kind_context() is None:
        return "no reachable kind cluster (`kind get clusters` lists none that answers)"
    missing = [v for v in ("KUBEDAG_E2E_IMAGE", "KUBEDAG_E2E_PG_URL") if not os.environ.get(v)]
    if missing:
        return f"set {' and '.join(missing)} (see this module's docstring)"
    return None


REASON = _skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def kubectl(context: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--context", context, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def kind_namespace() -> Iterator[tuple[str, str]]:
    context = _kind_context()
    assert context is not None
    namespace = f"kubedag-e2e-{uuid.uuid4().hex[:6]}"
    kubectl(context, "apply", "-f", str(REPO / "crds"))
    kubectl(context, "create", "namespace", namespace)
    try:
        yield context, namespace
    finally:
        kubectl(context, "delete", "namespace", namespace, "--wait=false")


def test_a_run_executes_in_a_kind_cluster(
    kind_namespace: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    context, namespace = kind_namespace
    image, url = os.environ["KUBEDAG_E2E_IMAGE"], os.environ["KUBEDAG_E2E_PG_URL"]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pg"},
            "stringData": {"url": url},
        },
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Instance",
            "metadata": {"name": "kubedag"},
            "spec": {
                "storage": {
                    "postgres": {"postgres_url": {"secretKeyRef": {"name": "pg", "key": "url"}}}
                },
                "run_launcher": {"kubernetes": {"image_pull_policy": "IfNotPresent"}},
            },
        },
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "CodeLocation",
            "metadata": {"name": "quickstart"},
            "spec": {"image": image, "pythonFile": "/app/definitions.py", "replicas": 0},
        },
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Job",
            "metadata": {"name": "all"},
            "spec": {"codeLocationRef": {"name": "quickstart"}, "jobName": "__ASSET_JOB"},
        },
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Run",
            "metadata": {"name": "first"},
            "spec": {"jobRef": {"name": "all"}},
        },
    ]
    kubeconfig = subprocess.run(
        ["kind", "get", "kubeconfig", "--name", context.removeprefix("kind-")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(f"/tmp/{namespace}.kubeconfig")
    path.write_text(kubeconfig)
    operator = OperatorThread(
        OperatorOptions(namespaces=(namespace,), standalone=True, kubeconfig_file=str(path))
    )
    monkeypatch.setenv("KUBECONFIG", str(path))  # the run launcher reads it
    with operator:
        for body in objects:
            kubectl(context, "-n", namespace, "apply", "-f", "-", stdin=json.dumps(body))
        deadline = time.monotonic() + 300
        phase = None
        while time.monotonic() < deadline:
            phase = kubectl(
                context,
                "-n",
                namespace,
                "get",
                "runs.kubedag.io",
                "first",
                "-o",
                "jsonpath={.status.phase}",
            )
            if phase in ("Succeeded", "Failed", "Canceled"):
                break
            time.sleep(2)
        assert phase == "Succeeded", kubectl(
            context, "-n", namespace, "get", "runs.kubedag.io", "first", "-o", "yaml"
        )
