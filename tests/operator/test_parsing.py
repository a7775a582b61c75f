"""Reading objects in the operator: errors that name the field, conditions, and the Instance
spec turned into the runtime's instance document."""

from __future__ import annotations

import datetime
import json

import pytest
import yaml

from kubedag.instance.config import parse_instance_config
from kubedag_operator.resources import (
    ConditionStatus,
    InstanceResource,
    InvalidResourceError,
    JobResource,
    RunPhase,
    RunResource,
    ScheduleResource,
    find_condition,
    set_condition,
)
from kubedag_operator.resources.code_location import CodeLocationResource


def test_a_missing_field_is_named_with_its_yaml_path() -> None:
    body = {
        "apiVersion": "kubedag.io/v1alpha1",
        "kind": "Run",
        "metadata": {"name": "r1"},
        "spec": {"jobRef": {}},
    }
    with pytest.raises(InvalidResourceError) as caught:
        RunResource.parse(body)
    assert caught.value.problems == ["spec.jobRef.name: field required"]
    assert str(caught.value) == "Run r1 is invalid: spec.jobRef.name: field required"
    assert caught.value.message == "spec.jobRef.name: field required"


def test_every_problem_is_listed_with_list_indices_and_unknown_fields() -> None:
    body = {
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "codeLocationRef": {"name": "sales"},
            "jobName": "daily",
            "pod": {"env": [{"value": "x"}], "tolerations": [{"operator": "Sometimes"}]},
            "runConfg": {},
        },
    }
    with pytest.raises(InvalidResourceError) as caught:
        JobResource.parse(body)
    problems = caught.value.problems
    assert "spec.pod.env[0].name: field required" in problems
    assert any(p.startswith("spec.pod.tolerations[0].operator: input should be") for p in problems)
    assert "spec.runConfg: unknown field" in problems


def test_cross_field_rules_name_the_fields_and_the_fix() -> None:
    body = {"kind": "CodeLocation", "metadata": {"name": "c"}, "spec": {"image": "i"}}
    with pytest.raises(
        InvalidResourceError,
        match=r"spec: set exactly one of module .* or "
        r"pythonFile",
    ):
        CodeLocationResource.parse(body)


def test_a_kind_mismatch_is_an_error() -> None:
    with pytest.raises(InvalidResourceError, match="kind: input should be 'Run'"):
        RunResource.parse({"kind": "Job", "spec": {"jobRef": {"name": "j"}}})


def test_parsed_objects_use_python_names_and_defaults() -> None:
    run = RunResource.parse(
        {
            "kind": "Run",
            "metadata": {"name": "r", "namespace": "data", "generation": 2, "uid": "u-1"},
            "spec": {"jobRef": {"name": "daily"}, "retry": {"limit": 1}},
            "status": {"phase": "Running", "futureField": 1},
        }
    )
    assert run.spec.job_ref.name == "daily"
    assert run.spec.retry is not None and [r.value for r in run.spec.retry.reasons] == [
        "Evicted",
        "Preempted",
        "PodLost",
        "WorkerExited",
    ]
    assert run.status.phase is RunPhase.RUNNING  # unknown status keys are ignored
    assert run.metadata.generation == 2 and run.metadata.namespace == "data"
    schedule = ScheduleResource.parse(
        {"kind": "Schedule", "spec": {"cron": ["@daily"], "jobRef": {"name": "daily"}}}
    )
    assert schedule.spec.concurrency_policy == "Allow" and schedule.spec.time_zone == "UTC"
    assert schedule.spec.successful_runs_history_limit == 3
    assert schedule.spec.failed_runs_history_limit == 1


def test_status_serializes_in_camel_case_for_a_patch() -> None:
    run = RunResource.parse({"kind": "Run", "spec": {"jobRef": {"name": "daily"}}})
    patch = run.status.model_copy(update={"phase": RunPhase.QUEUED, "run_id": "abc"}).model_dump(
        mode="json", exclude_none=True
    )
    assert patch == {"phase": "Queued", "runId": "abc"}


def test_set_condition_moves_the_transition_time_only_when_the_status_changes() -> None:
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    t1 = t0 + datetime.timedelta(minutes=1)
    conditions = set_condition([], "Ready", ConditionStatus.FALSE, "Pending", "waiting", now=t0)
    conditions = set_condition(
        conditions, "Ready", ConditionStatus.FALSE, "StillPending", "still", now=t1
    )
    ready = find_condition(conditions, "Ready")
    assert ready is not None and ready.last_transition_time == t0 and ready.reason == "StillPending"
    conditions = set_condition(conditions, "Ready", ConditionStatus.TRUE, "Migrated", "ok", now=t1)
    conditions = set_condition(conditions, "Accepted", ConditionStatus.TRUE, "Valid", "ok", now=t1)
    assert [c.type for c in conditions] == ["Accepted", "Ready"]
    ready = find_condition(conditions, "Ready")
    assert ready is not None and ready.last_transition_time == t1
    dumped = ready.model_dump(mode="json", exclude_none=True)
    assert dumped["lastTransitionTime"].startswith("2026-01-01T00:01:00")


INSTANCE = {
    "kind": "Instance",
    "metadata": {"name": "kubedag"},
    "spec": {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": "kubedag",
                    "password": {"secretKeyRef": {"name": "pg", "key": "password"}},
                    "hostname": "postgres.data.svc",
                    "db_name": "kubedag",
                }
            }
        },
        "compute_logs": {
            "s3": {
                "bucket": "logs",
                "credentials": {
                    "access_key_id": {"secretKeyRef": {"name": "s3", "key": "id"}},
                    "secret_access_key": {"secretKeyRef": {"name": "s3", "key": "secret"}},
                },
            }
        },
        "run_coordinator": {
            "queued": {
                "tag_concurrency_limits": [
                    {"key": "db", "value": "warehouse", "limit": 1},
                    {"key": "tenant", "apply_limit_per_unique_value": True, "limit": 2},
                ]
            }
        },
        "run_launcher": {
            "kubernetes": {
                "service_account_name": "kubedag-runs",
                "env": [
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}
                ],
                "tolerations": [{"key": "batch", "operator": "Exists", "tolerationSeconds": 5}],
            }
        },
        "run_monitoring": {"max_resume_run_attempts": 1},
        "python_logs": {"managed_python_loggers": ["my_lib"], "python_log_level": "INFO"},
    },
}


def test_the_instance_spec_becomes_a_runtime_document_without_secrets() -> None:
    instance = InstanceResource.parse(INSTANCE)
    document, env = instance.spec.to_instance_document()
    assert "password" in str(document)
    launcher = document["run_launcher"]["kubernetes"]
    assert launcher["env"] == [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}
    ]  # a Kubernetes env entry stays as Kubernetes reads it
    assert launcher["tolerations"] == [
        {"key": "batch", "operator": "Exists", "tolerationSeconds": 5}
    ]
    db = document["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"env": "KUBEDAG_SECRET_STORAGE_POSTGRES_POSTGRES_DB_PASSWORD"}
    assert "credentials" not in document["compute_logs"]["s3"]
    limits = document["run_coordinator"]["queued"]["tag_concurrency_limits"]
    assert limits[1] == {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 2}
    by_name = {e.name: e.model_dump(exclude_none=True) for e in env}
    assert by_name == {
        "KUBEDAG_SECRET_STORAGE_POSTGRES_POSTGRES_DB_PASSWORD": {
            "name": "KUBEDAG_SECRET_STORAGE_POSTGRES_POSTGRES_DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}},
        },
        "AWS_ACCESS_KEY_ID": {
            "name": "AWS_ACCESS_KEY_ID",
            "valueFrom": {"secretKeyRef": {"name": "s3", "key": "id"}},
        },
        "AWS_SECRET_ACCESS_KEY": {
            "name": "AWS_SECRET_ACCESS_KEY",
            "valueFrom": {"secretKeyRef": {"name": "s3", "key": "secret"}},
        },
    }
    # The runtime accepts the document as its own instance configuration.
    parsed = parse_instance_config(document, source="Instance kubedag")
    assert parsed.part("storage") is not None and parsed.run_monitoring == {
        "max_resume_run_attempts": 1
    }
    assert parsed.python_logs == {"managed_python_loggers": ["my_lib"], "python_log_level": "INFO"}


def test_an_inline_password_is_refused() -> None:
    body = {
        "kind": "Instance",
        "metadata": {"name": "kubedag"},
        "spec": {
            "storage": {
                "postgres": {
                    "postgres_db": {
                        "username": "u",
                        "password": "hunter2",
                        "hostname": "h",
                        "db_name": "d",
                    }
                }
            }
        },
    }
    with pytest.raises(InvalidResourceError) as caught:
        InstanceResource.parse(body)
    assert caught.value.problems[0].startswith("spec.storage.postgres.postgres_db.password:")
    assert "hunter2" not in str(caught.value)


def test_kopf_bodies_are_read_like_dicts() -> None:
    kopf = pytest.importorskip("kopf")
    body = kopf.Body({"kind": "Run", "metadata": {"name": "r"}, "spec": {"jobRef": {"name": "j"}}})
    assert RunResource.parse(body).spec.job_ref.name == "j"


def test_the_runtime_document_is_plain_data() -> None:
    document, _ = InstanceResource.parse(INSTANCE).spec.to_instance_document()
    assert yaml.safe_load(yaml.safe_dump(document)) == json.loads(json.dumps(document))


def test_a_bad_quantity_is_named_once_with_an_example() -> None:
    body = {
        "kind": "CodeLocation",
        "spec": {"image": "i", "module": "m", "resources": {"limits": {"memory": "lots"}}},
    }
    with pytest.raises(InvalidResourceError) as caught:
        CodeLocationResource.parse(body)
    assert caught.value.problems == [
        "spec.resources.limits.memory: expected a Kubernetes quantity such as 2, 500m or 1Gi; "
        "got 'lots'"
    ]
