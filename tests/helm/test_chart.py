"""The Helm chart, rendered by the real helm 3 and helm 4 with no values at all (what
`helm install kubedag helm/kubedag` gets) and with each values file of `tests/helm/values/`:
it lints strictly, renders the same with both, every manifest is valid
Kubernetes (strict schemas of two Kubernetes versions), and the Instance it builds is accepted
by our CRD schema, its CEL rules, the operator's pydantic model and the runtime's instance
parser. The other tests read the rendered objects as a reviewer would: locked-down pods, RBAC
without wildcards, the operator's command line, HA, the bundled PostgreSQL."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kubedag.instance.config import parse_instance_config
from kubedag.runs.launchers.kubernetes import check_settings
from kubedag_operator.instances import runtime_document
from kubedag_operator.resources import InstanceResource
from tests.helm.chart import (
    CHART,
    NAMESPACE,
    RELEASE,
    VALUES,
    VALUES_FILES,
    Helm,
    of_kind,
    one,
)
from tests.operator.cel import CEL_AVAILABLE, cel_violations

KUBERNETES_VERSIONS = ("1.29", "1.33")
MINIMAL = VALUES / "minimal.yaml"
EXTERNAL = VALUES / "external-postgres.yaml"
BUNDLED = VALUES / "bundled-postgres.yaml"
CLUSTER_HA = VALUES / "cluster-ha.yaml"
FULLNAME = f"{RELEASE}-kubedag"
# None: no values at all, the chart's defaults (the bundled PostgreSQL).
VALUES_CASES: list[Path | None] = [None, *VALUES_FILES]
values_ids = ["defaults", *(p.stem for p in VALUES_FILES)]


def test_the_four_values_files_are_there() -> None:
    assert {p.stem for p in VALUES_FILES} >= {
        "minimal",
        "external-postgres",
        "bundled-postgres",
        "cluster-ha",
    }


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_lint_strict(helm: Helm, values: Path | None) -> None:
    output = helm.lint(values)
    assert "0 chart(s) failed" in output
    assert "[WARNING]" not in output and "[ERROR]" not in output, output


def _without_generated(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests with the bundled PostgreSQL's random password blanked."""
    out = copy.deepcopy(manifests)
    for manifest in of_kind(out, "Secret"):
        manifest["data"] = dict.fromkeys(manifest.get("data") or {}, "<generated>")
    return out


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_helm_3_and_4_render_the_same(helm3: Helm, helm4: Helm, values: Path | None) -> None:
    assert _without_generated(helm3.template(values, include_crds=True)) == _without_generated(
        helm4.template(values, include_crds=True)
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_rendered_manifests_are_valid_kubernetes(
    any_helm: Helm, values: Path | None, version: str
) -> None:
    manifests = any_helm.template(values, include_crds=True)
    checked = 0
    for manifest in manifests:
        if manifest["apiVersion"].startswith("kubedag.io/"):
            continue  # ours: checked against our CRDs below
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(p) for p in error.path)
            pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']}: {where}: {error}")
        checked += 1
    assert checked >= 8


def _crd_schemas(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kind → openAPIV3Schema of the CRDs the chart installs."""
    schemas = {}
    for crd in of_kind(manifests, "CustomResourceDefinition"):
        if crd["spec"]["group"] == "kubedag.io":
            (version,) = crd["spec"]["versions"]
            schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_the_instance_is_valid_for_the_api_server_the_operator_and_the_runtime(
    any_helm: Helm, values: Path | None
) -> None:
    manifests = any_helm.template(values, include_crds=True)
    schemas = _crd_schemas(manifests)
    assert set(schemas) == {"Instance", "CodeLocation", "Job", "Schedule", "Run"}
    body = one(manifests, "Instance")
    # The API server: OpenAPI schema, then CEL rules.
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft4Validator(schemas["Instance"]).iter_errors(body)
    ]
    assert errors == []
    if CEL_AVAILABLE:
        assert cel_violations(schemas["Instance"], body) == []
    # The operator: the pydantic model, and back.
    resource = InstanceResource.parse(copy.deepcopy(body))
    written = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert written["spec"] == body["spec"]
    # The runtime: the document the operator and the run pods use, with no secret inline.
    built = runtime_document(resource.spec, NAMESPACE, in_cluster=True)
    parse_instance_config(
        built.document, source=f"the chart's Instance ({values.name if values else 'defaults'})"
    )
    launcher = check_settings(built.document["run_launcher"]["kubernetes"])
    assert launcher.run_as_user == 10001 and launcher.read_only_root_filesystem
    deployment = one(manifests, "Deployment")
    assert launcher.image == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    password_env = "KUBEDAG_SECRET_STORAGE_POSTGRES_POSTGRES_DB_PASSWORD"
    assert {s.env for s in built.secrets} >= {password_env}
    db = built.document["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"env": password_env}  # a reference, never the value


def test_no_values_install_the_bundled_postgres_with_a_generated_password(helm: Helm) -> None:
    """`helm install kubedag helm/kubedag` with no values: the bundled PostgreSQL, its password
    generated into a Secret that the Instance and the StatefulSet refer to. helm template has
    no cluster, so the chart's lookup of the Secret finds nothing and each render generates a
    new password (tests/helm/test_chart_lookup.py renders against an API that has it)."""
    first, second = helm.template(), helm.template()
    name = f"{FULLNAME}-postgres"
    secret = one(first, "Secret")
    assert secret["metadata"]["name"] == name
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    encoded = secret["data"]["password"]
    password = base64.b64decode(encoded).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password), password
    assert one(second, "Secret")["data"]["password"] != encoded  # generated, never a constant
    db = one(first, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
    assert db == {
        "hostname": f"{name}.{NAMESPACE}.svc",
        "port": 5432,
        "db_name": "kubedag",
        "username": "kubedag",
        "password": {"secretKeyRef": {"name": name, "key": "password"}},
    }
    container = one(first, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"] == {
        "name": "POSTGRES_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}},
    }
    # The password is in the Secret and nowhere else, neither plain nor base64.
    others = yaml.safe_dump_all([m for m in first if m["kind"] != "Secret"])
    assert password not in others and encoded not in others


def test_the_instance_from_values(any_helm: Helm) -> None:
    manifests = any_helm.template(EXTERNAL)
    assert not of_kind(manifests, "StatefulSet") and not of_kind(manifests, "Secret")
    spec = one(manifests, "Instance")["spec"]
    db = spec["storage"]["postgres"]["postgres_db"]
    assert db == {
        "hostname": "pg.databases.svc.cluster.local",
        "port": 6432,
        "db_name": "orchestration",
        "username": "kubedag_app",
        "password": {"secretKeyRef": {"name": "pg-credentials", "key": "app-password"}},
        "params": {"sslmode": "require"},
    }
    s3 = spec["compute_logs"]["s3"]
    assert s3["bucket"] == "kubedag-logs" and s3["prefix"] == "prod/compute-logs"
    assert s3["credentials"]["access_key_id"] == {
        "secretKeyRef": {"name": "kubedag-s3", "key": "AWS_ACCESS_KEY_ID"}
    }
    assert spec["run_coordinator"]["queued"]["max_concurrent_runs"] == 20
    launcher = spec["run_launcher"]["kubernetes"]
    assert launcher["service_account_name"] == f"{FULLNAME}-run-worker"
    assert launcher["node_selector"] == {"pool": "batch"}
    minimal_manifests = any_helm.template(MINIMAL)
    assert not of_kind(minimal_manifests, "StatefulSet")  # bundled off: no PostgreSQL of ours
    minimal = one(minimal_manifests, "Instance")["spec"]
    assert "compute_logs" not in minimal  # no bucket: nothing to configure
    assert minimal["storage"]["postgres"]["postgres_db"] == {
        "hostname": "postgres.data.svc",
        "port": 5432,
        "db_name": "kubedag",
        "username": "kubedag",
        "password": {"secretKeyRef": {"name": "kubedag-postgres", "key": "password"}},
    }


def _operator_pod(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = one(manifests, "Deployment")
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_every_pod_is_non_root_read_only_and_without_capabilities(
    any_helm: Helm, values: Path | None
) -> None:
    manifests = any_helm.template(values)
    workloads = of_kind(manifests, "Deployment") + of_kind(manifests, "StatefulSet")
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert container.get("resources", {}).get("limits", {}).get("memory")
            assert container["livenessProbe"] and container["readinessProbe"]


def test_the_operator_container(any_helm: Helm) -> None:
    pod = _operator_pod(any_helm.template(MINIMAL))
    assert pod["serviceAccountName"] == FULLNAME
    assert pod["securityContext"]["runAsUser"] == 10001
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/kubedag/kubedag:0.1.0"  # the chart's appVersion
    assert container["command"] == ["kubedag"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts) == {"/tmp", "/home/kubedag"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all("emptyDir" in volumes[name] for name in mounts.values())
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KUBEDAG_HOME"] == "/home/kubedag/.kubedag"
    pod_id = next(e for e in container["env"] if e["name"] == "POD_ID")  # peering identity
    assert pod_id["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert {"name": "healthz", "containerPort": 8080, "protocol": "TCP"} in container["ports"]


@pytest.mark.parametrize(
    ("values", "sets", "expected"),
    [
        (
            MINIMAL,
            {},
            ["operator", "--namespace", NAMESPACE, "--standalone", "--resync-seconds", "5"],
        ),
        (
            EXTERNAL,
            {},
            ["operator", "--namespace", NAMESPACE, "--namespace", "team-a", "--namespace"],
        ),
        (
            CLUSTER_HA,
            {},
            ["operator", "--all-namespaces", "--peering", FULLNAME, "--resync-seconds", "5"],
        ),
        (
            MINIMAL,
            {"rbac.scope": "cluster", "watchNamespaces": "{a,b}", "operator.priority": "7"},
            ["operator", "--namespace", "a", "--namespace", "b", "--standalone", "--priority"],
        ),
    ],
    ids=["namespaced", "extra-namespaces", "cluster-ha", "cluster-some-namespaces"],
)
def test_the_operator_command_line(
    any_helm: Helm, values: Path, sets: dict[str, str], expected: list[str]
) -> None:
    args = _operator_pod(any_helm.template(values, sets))["containers"][0]["args"]
    assert args[: len(expected)] == expected
    assert args[args.index("--liveness") + 1] == "http://0.0.0.0:8080/healthz"
    metrics = "--metrics-port" in args
    assert metrics == (values in (EXTERNAL, CLUSTER_HA))


def test_metrics_service_targets_the_metrics_port(any_helm: Helm) -> None:
    manifests = any_helm.template(CLUSTER_HA)
    container = _operator_pod(manifests)["containers"][0]
    assert container["args"][container["args"].index("--metrics-port") + 1] == "9100"
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
    (service,) = [
        s for s in of_kind(manifests, "Service") if s["metadata"]["name"].endswith("-metrics")
    ]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}
    ]
    selector = service["spec"]["selector"]
    labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert not [s for s in of_kind(any_helm.template(MINIMAL), "Service")]


def _rules(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roles = of_kind(manifests, "Role") + of_kind(manifests, "ClusterRole")
    return [rule for role in roles for rule in role["rules"]]


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_rbac_has_no_wildcard(any_helm: Helm, values: Path | None) -> None:
    rules = _rules(any_helm.template(values))
    assert rules
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule
        assert "nonResourceURLs" not in rule
    secrets = [r for r in rules if "secrets" in r["resources"]]
    assert secrets and all(r["verbs"] == ["get"] for r in secrets)  # read, never list or write


def _allowed(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules
    )


# What the operator's code does (kube.py, handlers/, the Kubernetes run launcher, kopf).
NEEDED = [
    ("kubedag.io", "runs", "watch"),
    ("kubedag.io", "runs", "create"),
    ("kubedag.io", "runs", "delete"),
    ("kubedag.io", "runs/status", "patch"),
    ("kubedag.io", "instances", "patch"),
    ("kubedag.io", "codelocations/status", "patch"),
    ("kubedag.io", "schedules", "list"),
    ("", "pods", "create"),
    ("", "pods", "get"),
    ("", "pods", "delete"),
    ("", "pods", "list"),  # the pod watch that wakes a Run; code server pods' image digest
    ("", "pods", "watch"),
    ("", "secrets", "get"),
    ("", "events", "create"),
    ("apps", "deployments", "update"),
    ("", "services", "create"),
]


def test_namespaced_scope_grants_per_namespace_and_nothing_cluster_wide(any_helm: Helm) -> None:
    manifests = any_helm.template(EXTERNAL)
    assert not of_kind(manifests, "ClusterRole") and not of_kind(manifests, "ClusterRoleBinding")
    roles = of_kind(manifests, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == sorted(
        [NAMESPACE, "team-a", "team-b"]
    )
    for role in roles:
        for need in NEEDED:
            assert _allowed(role["rules"], *need), need
        assert not _allowed(role["rules"], "kopf.dev", "kopfpeerings", "patch")  # standalone
    for binding in of_kind(manifests, "RoleBinding"):
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": FULLNAME,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}
        ]


def test_cluster_scope_with_ha(any_helm: Helm) -> None:
    manifests = any_helm.template(CLUSTER_HA)
    assert not of_kind(manifests, "Role") and not of_kind(manifests, "RoleBinding")
    rules = one(manifests, "ClusterRole")["rules"]
    for need in NEEDED:
        assert _allowed(rules, *need), need
    assert _allowed(rules, "kopf.dev", "clusterkopfpeerings", "create")
    assert not _allowed(rules, "kopf.dev", "kopfpeerings", "create")
    binding = one(manifests, "ClusterRoleBinding")
    assert binding["subjects"][0]["namespace"] == NAMESPACE
    deployment = one(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    pdb = one(manifests, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    peerings = {
        c["spec"]["names"]["kind"]: c["spec"]["scope"]
        for c in of_kind(manifests, "CustomResourceDefinition")
    }
    assert peerings == {"ClusterKopfPeering": "Cluster", "KopfPeering": "Namespaced"}


def test_ha_in_some_namespaces_uses_namespaced_peerings(any_helm: Helm) -> None:
    manifests = any_helm.template(
        MINIMAL, {"operator.ha": "true", "operator.replicas": "2", "watchNamespaces": "{team-a}"}
    )
    for role in of_kind(manifests, "Role"):
        assert _allowed(role["rules"], "kopf.dev", "kopfpeerings", "create")
    without_crds = any_helm.template(
        MINIMAL,
        {"operator.ha": "true", "operator.replicas": "2", "operator.peering.installCRDs": "false"},
    )
    assert not of_kind(without_crds, "CustomResourceDefinition")


def test_a_standalone_operator_is_replaced_not_rolled(any_helm: Helm) -> None:
    manifests = any_helm.template(MINIMAL)
    deployment = one(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two standalone at once
    assert not of_kind(manifests, "CustomResourceDefinition")  # kopf's peering CRDs: HA only
    assert not of_kind(manifests, "PodDisruptionBudget")
    assert not of_kind(manifests, "NetworkPolicy")


@pytest.mark.parametrize(
    ("sets", "image"),
    [
        ({}, "ghcr.io/kubedag/kubedag:0.1.0"),
        ({"image.tag": "1.2.3"}, "ghcr.io/kubedag/kubedag:1.2.3"),
        (
            {
                "image.repository": "r.example/kd",
                "image.tag": "x",
                "image.digest": "sha256:" + "a" * 64,
            },
            "r.example/kd@sha256:" + "a" * 64,
        ),
    ],
    ids=["app-version", "tag", "digest-wins"],
)
def test_image_by_repository_tag_or_digest(
    any_helm: Helm, sets: dict[str, str], image: str
) -> None:
    manifests = any_helm.template(MINIMAL, sets)
    assert _operator_pod(manifests)["containers"][0]["image"] == image
    launcher = one(manifests, "Instance")["spec"]["run_launcher"]["kubernetes"]
    assert launcher["image"] == image


def test_bundled_postgres(any_helm: Helm) -> None:
    manifests = any_helm.template(BUNDLED)
    name = f"{FULLNAME}-postgres"
    (statefulset,) = of_kind(manifests, "StatefulSet")
    assert statefulset["metadata"]["name"] == name
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    secret = next(s for s in of_kind(manifests, "Secret") if s["metadata"]["name"] == name)
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert len(secret["data"]["password"]) > 20
    service = next(s for s in of_kind(manifests, "Service") if s["metadata"]["name"] == name)
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    db = one(manifests, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
    assert db["hostname"] == f"{name}.{NAMESPACE}.svc" and db["port"] == 5432
    assert db["password"] == {"secretKeyRef": {"name": name, "key": "password"}}
    policies = {p["metadata"]["name"]: p for p in of_kind(manifests, "NetworkPolicy")}
    operator_policy = policies[f"{FULLNAME}-operator"]["spec"]
    assert operator_policy["ingress"] == [] and operator_policy["policyTypes"] == ["Ingress"]
    ingress = policies[name]["spec"]["ingress"][0]
    assert ingress["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kubedag"}}}
    ]
    s3 = one(manifests, "Instance")["spec"]["compute_logs"]["s3"]
    assert s3["endpoint_url"] == "http://s3.kubedag.svc:9000"
    # With a Secret of the user's (GitOps), the chart generates none and everything uses it.
    own = any_helm.template(BUNDLED, {"instance.postgres.bundled.existingSecret": "pg-eval"})
    assert not of_kind(own, "Secret")
    db = one(own, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"secretKeyRef": {"name": "pg-eval", "key": "password"}}
    container = one(own, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "pg-eval"


def test_run_worker_service_account_has_no_token_and_no_role(any_helm: Helm) -> None:
    manifests = any_helm.template(EXTERNAL)
    accounts = {a["metadata"]["name"]: a for a in of_kind(manifests, "ServiceAccount")}
    worker = accounts[f"{FULLNAME}-run-worker"]
    assert worker["automountServiceAccountToken"] is False
    assert "eks.amazonaws.com/role-arn" in worker["metadata"]["annotations"]
    bound = {s["name"] for b in of_kind(manifests, "RoleBinding") for s in b["subjects"]}
    assert bound == {FULLNAME}
    none = any_helm.template(MINIMAL, {"instance.runLauncher.serviceAccount.create": "false"})
    assert "service_account_name" not in one(none, "Instance")["spec"]["run_launcher"]["kubernetes"]


def test_network_policy_restricts_egress_when_asked(any_helm: Helm) -> None:
    manifests = any_helm.template(EXTERNAL)
    (policy,) = [
        p
        for p in of_kind(manifests, "NetworkPolicy")
        if p["metadata"]["name"].endswith("-operator")
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert {53, 443, 6432, 4000} <= ports  # DNS, API, PostgreSQL (the values' port), code servers
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_recommended_labels_on_every_object(any_helm: Helm, values: Path | None) -> None:
    for manifest in any_helm.template(values):
        labels = manifest["metadata"].get("labels") or {}
        name = f"{manifest['kind']} {manifest['metadata']['name']}"
        assert labels.get("app.kubernetes.io/name") == "kubedag", name
        assert labels.get("app.kubernetes.io/instance") == RELEASE, name
        assert labels.get("app.kubernetes.io/managed-by") == "Helm", name
        assert labels.get("app.kubernetes.io/version") == "0.1.0", name
        assert labels.get("app.kubernetes.io/part-of") == "kubedag", name
        assert labels.get("app.kubernetes.io/component"), name


def test_notes_tell_the_next_three_commands(helm4: Helm) -> None:
    notes = helm4.notes(MINIMAL)
    assert f"kubectl get kubedag -n {NAMESPACE}" in notes
    assert "kubedag manifests" in notes and "| kubectl apply -f -" in notes
    assert f"kubectl get runs -n {NAMESPACE} -w" in notes
    assert "compute-logs" not in notes and "step logs stay inside run pods" in notes
    assert "evaluation only" not in notes  # its own PostgreSQL
    bundled = helm4.notes(BUNDLED)
    assert "evaluation only" in bundled and "step logs stay" not in bundled
    defaults = helm4.notes()  # no values: the bundled PostgreSQL, and the way to production
    assert "evaluation only" in defaults
    assert "instance.postgres.bundled.enabled=false" in defaults


def undocumented_keys(text: str) -> list[str]:
    """Keys of a values file with no `# --` comment of their own or on an enclosing key.
    A key that only opens a block of settings needs none; each setting does."""
    lines = text.splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    missing = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            above -= 1
        comment = lines[above + 1].strip() if above + 1 < number else ""
        documented = comment.startswith("# --") or any(d for _, d in stack)
        if stripped.endswith(":"):
            stack.append((indent, documented))
        elif not documented:
            missing.append(f"values.yaml:{number + 1}: {stripped}")
    return missing


def test_values_yaml_documents_every_key() -> None:
    assert undocumented_keys((CHART / "values.yaml").read_text()) == []
    assert undocumented_keys("a:\n  # -- documented\n  b: 1\n  c: 2\n") == ["values.yaml:4: c: 2"]


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "kubedag"
    assert chart["appVersion"] == "0.1.0"


KIND_VALUES = CHART.parents[1] / "examples" / "kubernetes" / "kind" / "values.yaml"


def test_the_kind_example_values_install(any_helm: Helm) -> None:
    """`make kind-e2e` installs the chart with examples/kubernetes/kind/values.yaml: it must
    keep linting and rendering a valid Instance on the bundled PostgreSQL."""
    if not KIND_VALUES.exists():
        pytest.skip("examples/kubernetes/kind/values.yaml is not in this checkout")
    sets = {"image.repository": "kubedag", "image.tag": "dev"}  # as scripts/kind-e2e.sh does
    any_helm.lint(KIND_VALUES, sets)
    manifests = any_helm.template(KIND_VALUES, sets)
    assert of_kind(manifests, "StatefulSet")
    spec = InstanceResource.parse(one(manifests, "Instance")).spec
    assert spec.compute_logs is not None and spec.compute_logs.s3 is not None
    assert _operator_pod(manifests)["containers"][0]["image"] == "kubedag:dev"


@pytest.mark.parametrize("values", VALUES_CASES, ids=values_ids)
def test_the_operator_command_line_is_one_kubedag_accepts(
    any_helm: Helm, values: Path | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chart and `kubedag operator` agree on flags: the rendered command parses with the
    CLI's own parser (nothing runs)."""
    from kubedag.cli.main import build_parser
    from kubedag.cli.operator_cmd import run_operator_command

    container = _operator_pod(any_helm.template(values))["containers"][0]
    assert container["command"] == ["kubedag"]
    try:
        parsed = build_parser().parse_args(container["args"])
    except SystemExit:
        pytest.fail(f"kubedag refuses the chart's operator flags: {capsys.readouterr().err}")
    assert parsed.handler is run_operator_command
    assert bool(parsed.all_namespaces) == (values == CLUSTER_HA)
    assert bool(parsed.standalone) == (values != CLUSTER_HA)
