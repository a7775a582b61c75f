"""A run's own pod overrides (the tag `kubedag.io/pod-overrides`) over the launcher's settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

import kubedag as dg
from kubedag.runs.launchers.kubernetes import K8sLauncherSettings, run_pod_manifest
from kubedag.runs.launchers.pod_overrides import (
    POD_OVERRIDES_TAG,
    PodOverridesError,
    combine_pod_overrides,
    parse_pod_overrides,
)

RUN_ID = "0f0e0d0c-0000-4000-8000-000000000002"
SETTINGS = K8sLauncherSettings(
    image="img",
    env=[{"name": "REGION", "value": "eu"}, {"name": "TIER", "value": "base"}],
    node_selector={"pool": "general"},
    tolerations=[{"key": "general", "operator": "Exists"}],
    resources={"requests": {"cpu": "100m"}},
    labels={"team": "data"},
)


def pod_for(overrides: dict[str, Any] | None) -> dict[str, Any]:
    tags = {POD_OVERRIDES_TAG: json.dumps(overrides)} if overrides is not None else {}
    run = dg.Run(run_id=RUN_ID, job_name="etl", tags=tags)
    return run_pod_manifest(run, SETTINGS, "{}", "img")


def test_without_the_tag_the_pod_is_the_launchers() -> None:
    pod = pod_for(None)
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"pool": "general"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}


def test_overrides_append_lists_merge_maps_and_replace_values() -> None:
    pod = pod_for(
        {
            "env": [{"name": "TIER", "value": "gold"}, {"name": "EXTRA", "value": "1"}],
            "envFrom": [{"secretRef": {"name": "warehouse"}}],
            "resources": {"limits": {"memory": "2Gi"}},
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "batch", "operator": "Exists"}],
            "affinity": {"nodeAffinity": {}},
            "serviceAccountName": "etl-runner",
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
            "labels": {"cost-center": "42", "kubedag.io/run-id": "forged"},
            "annotations": {"note": "hi"},
        }
    )
    meta, spec = pod["metadata"], pod["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REGION"] == "eu" and env["TIER"] == "gold" and env["EXTRA"] == "1"
    assert [e["name"] for e in container["env"]].count("TIER") == 1
    assert container["envFrom"] == [{"secretRef": {"name": "warehouse"}}]
    assert container["resources"] == {"limits": {"memory": "2Gi"}}
    assert {"name": "scratch", "mountPath": "/scratch"} in container["volumeMounts"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # kubedag's stay
    assert spec["nodeSelector"] == {"pool": "general", "disk": "ssd"}
    assert [t["key"] for t in spec["tolerations"]] == ["general", "batch"]
    assert spec["affinity"] == {"nodeAffinity": {}}
    assert spec["serviceAccountName"] == "etl-runner"
    assert "automountServiceAccountToken" not in spec
    assert {"name": "scratch", "emptyDir": {}} in spec["volumes"]
    assert meta["labels"]["cost-center"] == "42" and meta["labels"]["team"] == "data"
    assert meta["labels"]["kubedag.io/run-id"] == RUN_ID  # kubedag's own labels win
    assert meta["annotations"]["note"] == "hi"
    assert container["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{not json", ["not JSON"]),
        ('["a"]', ["expected a JSON object"]),
        ('{"hostNetwork": true}', ["unknown field 'hostNetwork'", "nodeSelector"]),
        ('{"env": {"A": "1"}}', ["env must be a list"]),
        ('{"env": [{"value": "1"}]}', ["env[0] needs a name"]),
        ('{"nodeSelector": {"pool": 1}}', ["nodeSelector must map names to strings"]),
        ('{"serviceAccountName": ""}', ["serviceAccountName must be a non-empty string"]),
    ],
)
def test_a_bad_tag_is_refused_naming_the_field(value: str, words: list[str]) -> None:
    with pytest.raises(PodOverridesError) as caught:
        parse_pod_overrides(value, RUN_ID)
    message = str(caught.value)
    assert RUN_ID in message and POD_OVERRIDES_TAG in message
    for word in words:
        assert word in message


def test_layers_combine_later_over_earlier() -> None:
    location = {"env": [{"name": "A", "value": "1"}], "serviceAccountName": "loc", "envFrom": []}
    job = {
        "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}],
        "nodeSelector": {"pool": "batch"},
    }
    combined = combine_pod_overrides(location, None, job)
    assert combined == {
        "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}],
        "serviceAccountName": "loc",
        "nodeSelector": {"pool": "batch"},
    }
