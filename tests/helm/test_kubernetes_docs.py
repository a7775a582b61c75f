"""docs/kubernetes.md stays true: its values example installs, its kubedag objects are valid for
our CRDs, its links point at files that exist, and it covers what the guide promises."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kubedag_operator.resources import ALL_RESOURCES, InstanceResource, parse_resource
from kubedag_operator.resources.crd import crd_for
from tests.helm.chart import REPO, Helm, of_kind, one

DOC = REPO / "docs" / "kubernetes.md"
RESOURCES = {r.kind_name: r for r in ALL_RESOURCES}


def _yaml_blocks() -> list[str]:
    """```yaml blocks, and the YAML of shell here-documents (`kubectl create -f - <<'YAML'`)."""
    text = DOC.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return blocks + re.findall(r"<<'YAML'\n(.*?)\nYAML\n", text, flags=re.S)


def _documents() -> list[dict[str, Any]]:
    return [d for block in _yaml_blocks() for d in yaml.safe_load_all(block) if d]


def test_the_values_example_installs(any_helm: Helm, tmp_path: Path) -> None:
    (example,) = [b for b in _yaml_blocks() if b.startswith("# values.yaml")]
    values = tmp_path / "values.yaml"
    values.write_text(example)
    any_helm.lint(values)
    manifests = any_helm.template(values)
    assert not of_kind(manifests, "StatefulSet")  # the production path: no bundled PostgreSQL
    instance = InstanceResource.parse(one(manifests, "Instance"))
    assert instance.spec.compute_logs is not None and instance.spec.run_coordinator is not None
    db = one(manifests, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
    assert db["hostname"] == yaml.safe_load(example)["instance"]["postgres"]["external"]["host"]


def test_the_quick_start_is_an_install_with_no_values() -> None:
    quick_start = DOC.read_text().split("### Quick start", 1)[1].split("\n### ", 1)[0]
    (command,) = re.findall(r"```sh\n(.*?)\n```", quick_start, flags=re.S)
    assert command == "helm install kubedag ./helm/kubedag --namespace kubedag --create-namespace"


def test_the_guide_quotes_what_helm_prints_for_a_missing_host(helm: Helm) -> None:
    """The guide shows the schema's message for bundled off without a host, as each helm
    major version prints it."""
    quoted = {
        3: "instance.postgres.external.host: String length must be greater than or equal to 1",
        4: "at '/instance/postgres/external/host': minLength: got 0, want 1",
    }[helm.binary.major]
    assert quoted in " ".join(DOC.read_text().split())
    assert quoted in helm.rejected(None, {"instance.postgres.bundled.enabled": "false"})


def test_the_kubedag_objects_of_the_guide_are_valid() -> None:
    objects = [d for d in _documents() if str(d.get("apiVersion", "")).startswith("kubedag.io/")]
    assert {o["kind"] for o in objects} >= {"Run"}
    for body in objects:
        schema = crd_for(RESOURCES[body["kind"]])["spec"]["versions"][0]["schema"]
        jsonschema.Draft4Validator(schema["openAPIV3Schema"]).validate(body)
        parse_resource(RESOURCES[body["kind"]], body)


def test_the_guide_covers_install_upgrade_gitops_kubectl_logs_and_uninstall() -> None:
    text = DOC.read_text()
    for needed in (
        "helm install",
        "helm upgrade",
        "kind: Application",  # Argo CD
        "kind: HelmRelease",  # Flux
        "kubectl get kubedag",
        "kubectl get runs -n kubedag -w",
        "kubectl explain run.spec",
        "kubedag logs RUN_ID",
        "make kind-e2e",
        "helm uninstall",
        "manifests.md",
    ):
        assert needed in text, needed


def test_relative_links_point_at_files() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", DOC.read_text())
    assert links
    missing = [link for link in links if not (DOC.parent / link).exists()]
    assert missing == []
