"""End to end on a real cluster (kind), two ways.

`make kind-e2e` (`scripts/kind-e2e.sh`) is what a user runs: cluster, images, Helm chart,
the quickstart's objects, one Run. `test_make_kind_e2e` runs it where Docker, kind, helm and
kubectl are present and the Docker daemon answers; otherwise it is skipped, naming what is
missing. The files it uses (Dockerfile, kind-config.yaml, examples/kubernetes/) are checked
everywhere by the tests below it, since they cannot be run here.

`test_a_run_executes_in_a_kind_cluster`: the CRDs applied with kubectl, the operator running
here against the cluster, a Run executed by a real pod. It runs only where a kind cluster is
reachable (Docker, `kind create cluster`), and needs:

- `KUBEDAG_E2E_IMAGE`: an image loaded into the cluster (`kind load docker-image`) with kubedag
  and `examples/quickstart/definitions.py` at `/app/definitions.py`;
- `KUBEDAG_E2E_PG_URL`: a PostgreSQL URL reachable from the pods and from this machine.

Otherwise it is skipped, saying which of these is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kubedag.config.run_config import merge_config
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


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
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


# -- make kind-e2e ---------------------------------------------------------------------------------
KIND_E2E_TOOLS = ("docker", "kind", "helm", "kubectl", "make")


def make_kind_e2e_skip_reason() -> str | None:
    """Why `make kind-e2e` cannot run here, or None: every tool on PATH and a Docker daemon
    that answers `docker info`."""
    problems = [f"`{tool}` on PATH" for tool in KIND_E2E_TOOLS if shutil.which(tool) is None]
    if shutil.which("docker") is not None:
        try:
            answered = subprocess.run(
                ["docker", "info"], capture_output=True, timeout=30, check=False
            ).returncode
        except (OSError, subprocess.SubprocessError):
            answered = 1
        if answered != 0:
            problems.append("a Docker daemon (`docker info` fails)")
    else:
        problems.append("a Docker daemon")
    if problems:
        return f"make kind-e2e needs {', '.join(problems)}; missing here"
    return None


KIND_E2E_REASON = make_kind_e2e_skip_reason()


@pytest.mark.skipif(KIND_E2E_REASON is not None, reason=KIND_E2E_REASON or "")
@pytest.mark.timeout(3600)
def test_make_kind_e2e() -> None:
    """The whole user path: cluster, images, chart, quickstart objects, one succeeded Run."""
    done = subprocess.run(
        ["make", "kind-e2e"], cwd=REPO, capture_output=True, text=True, timeout=3500, check=False
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert re.search(r"the Run quickstart-e2e-\d+ \(run id \S+\) succeeded", done.stderr)


# -- what make kind-e2e uses, checked everywhere ----------------------------------------------------
SCRIPT = REPO / "scripts" / "kind-e2e.sh"
EXAMPLES = REPO / "examples" / "kubernetes"


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def script_setting(name: str) -> str:
    found = re.search(rf'^{name}="([^"$]+)"$', SCRIPT.read_text(), flags=re.M)
    assert found, f"scripts/kind-e2e.sh sets no {name}"
    return found.group(1)


def test_the_image_runs_kubedag_as_a_non_root_user_with_nothing_but_the_package() -> None:
    instructions = dockerfile_instructions(REPO / "Dockerfile")
    froms = [args for name, args in instructions if name == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build"), froms  # multi-stage
    base = next(args for name, args in instructions if name == "ARG" and "PYTHON_IMAGE" in args)
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[12]-slim(-\w+)?", base), base
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert 'pip install ".[postgres,s3,operator]"' in runs and "--editable" not in runs
    for name, args in instructions:
        if name == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is missing"
    final = final_stage(instructions)
    (user,) = [args for name, args in final if name == "USER"]
    assert user == "10001:10001"  # numeric, so runAsNonRoot can be checked by the kubelet
    env = " ".join(args for name, args in final if name == "ENV")
    assert "HOME=/home/kubedag" in env and "KUBEDAG_HOME=/home/kubedag/.kubedag" in env
    assert ("ENTRYPOINT", '["kubedag"]') in final
    labels = " ".join(args for name, args in final if name == "LABEL")
    assert "org.opencontainers.image.title" in labels
    assert "org.opencontainers.image.source" in labels
    text = (REPO / "Dockerfile").read_text().upper()
    assert not re.search(r"(PASSWORD|SECRET|TOKEN)\S*=", text), "no secrets in the image"


def test_the_build_context_keeps_the_package_and_leaves_out_the_rest() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests", "**/__pycache__", ".pytest_cache"} <= ignored
    assert not {"runtime", "operator", "pyproject.toml", "README.md"} & ignored


def test_the_example_code_image_builds_from_kubedag_and_holds_the_quickstart() -> None:
    instructions = dockerfile_instructions(EXAMPLES / "Dockerfile")
    assert ("ARG", "KUBEDAG_IMAGE=ghcr.io/kubedag/kubedag:0.1.0") in instructions
    assert ("FROM", "${KUBEDAG_IMAGE}") in instructions
    assert not [args for name, args in instructions if name == "USER"], (
        "the code image keeps the base image's non-root user"
    )
    context = REPO / "examples" / "quickstart"  # the build context (see the Dockerfile)
    targets = {}
    for name, args in instructions:
        if name == "COPY":
            source, target = args.split()
            assert (context / source).exists(), f"COPY {source}: not in {context}"
            targets[target] = source
    location = yaml.safe_load_all((EXAMPLES / "quickstart.yaml").read_text())
    code_location = next(doc for doc in location if doc["kind"] == "CodeLocation")
    assert targets[code_location["spec"]["pythonFile"]] == "definitions.py"
    assert "data/" in targets.values()  # the quickstart reads data/orders.csv next to itself


def test_kind_config_is_a_pinned_kind_cluster() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [node["role"] for node in config["nodes"]]
    assert roles.count("control-plane") == 1
    for node in config["nodes"]:
        assert re.fullmatch(r"kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}", node["image"])


def test_the_script_is_what_make_kind_e2e_runs_and_agrees_with_the_examples() -> None:
    assert os.access(SCRIPT, os.X_OK)
    assert "set -euo pipefail" in SCRIPT.read_text()
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^kind-e2e:\n\tscripts/kind-e2e\.sh$", makefile, flags=re.M)
    assert re.search(r"^\.PHONY:.*\bkind-e2e\b", makefile, flags=re.M)
    docs = list(yaml.safe_load_all((EXAMPLES / "quickstart.yaml").read_text()))
    (location,) = [d for d in docs if d["kind"] == "CodeLocation"]
    assert location["spec"]["image"] == script_setting("CODE_IMAGE")
    assert script_setting("JOB") in {d["metadata"]["name"] for d in docs if d["kind"] == "Job"}


def test_the_script_refuses_to_start_without_its_tools(tmp_path: Path) -> None:
    """With none of docker, kind, helm and kubectl on PATH, it stops at once and says which."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "head", "od", "tr", "date", "cat"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    done = subprocess.run(
        ["/bin/bash", str(SCRIPT)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "`docker` is not on PATH" in done.stderr and "install Docker" in done.stderr


def test_the_kind_values_fit_the_chart_and_the_s3_server() -> None:
    values = yaml.safe_load((EXAMPLES / "kind" / "values.yaml").read_text())
    assert values["instance"]["postgres"]["bundled"]["enabled"] is True
    s3 = values["instance"]["computeLogs"]["s3"]
    server = list(yaml.safe_load_all((EXAMPLES / "kind" / "s3.yaml").read_text()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in server}
    assert {("Service", "minio"), ("Deployment", "minio"), ("Job", "minio-create-bucket")} <= kinds
    (service,) = [d for d in server if d["kind"] == "Service"]
    port = service["spec"]["ports"][0]["port"]
    assert s3["endpointUrl"] == f"http://minio.kubedag.svc.cluster.local:{port}"
    (job,) = [d for d in server if d["kind"] == "Job"]
    (mc,) = job["spec"]["template"]["spec"]["containers"]
    assert f"local/{s3['bucket']}" in " ".join(mc["args"])
    assert mc["envFrom"] == [{"secretRef": {"name": s3["credentialsSecret"]}}]
    assert script_setting("S3_SECRET") == s3["credentialsSecret"]
    assert script_setting("BUCKET") == s3["bucket"]
    assert script_setting("PREFIX") == s3["prefix"]
    (deployment,) = [d for d in server if d["kind"] == "Deployment"]
    (minio,) = deployment["spec"]["template"]["spec"]["containers"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in minio["env"]}
    assert secrets == {s3["credentialsSecret"]}
    chart = REPO / "helm" / "kubedag"
    if not (chart / "values.schema.json").exists():
        pytest.skip("helm/kubedag/values.schema.json is not there to check the values against")
    # Helm checks the chart's defaults merged with the file and the script's --set values.
    # Maps merged key by key, as Helm merges values files.
    merged = merge_config(yaml.safe_load((chart / "values.yaml").read_text()), values)
    merged = merge_config(merged, {"image": {"repository": "kubedag", "tag": "dev"}})
    schema = json.loads((chart / "values.schema.json").read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(merged)]
    assert errors == []
