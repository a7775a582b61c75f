"""The definition snapshot: what the operator learns about a code location, stable enough that
its hash changes when, and only when, the definitions do."""

from __future__ import annotations

import json

import kubedag as dg
from kubedag.code_server.snapshot import (
    SNAPSHOT_VERSION,
    build_snapshot,
    partitions_summary,
    snapshot_from_dict,
    snapshot_to_dict,
)
from tests.runtime.code_server.sample_location import make_defs


def test_the_snapshot_lists_jobs_assets_checks_schedules_and_sensors() -> None:
    snapshot = build_snapshot(make_defs(), "sample")

    assert (snapshot.code_location, snapshot.snapshot_version) == ("sample", SNAPSHOT_VERSION)
    assert snapshot.kubedag_version == dg.__version__
    assert snapshot.job_names == ["__ASSET_JOB", "customers_job", "daily_orders_job"]
    customers_job = snapshot.jobs[1]
    assert customers_job.asset_selection == ["customers"]
    assert customers_job.step_keys == ["customers", "customers_customers_not_empty"]
    assert customers_job.tags == {"team": "crm"}
    assert customers_job.executor == "multi_or_in_process_executor"
    assert (customers_job.partitions, customers_job.implicit) == (None, False)
    assert snapshot.jobs[0].implicit

    assert [asset.key for asset in snapshot.assets] == ["customers", "orders_summary", "raw_orders"]
    summary = snapshot.assets[1]
    assert (summary.group, summary.deps, summary.automation_condition) == (
        "sales",
        ["raw_orders"],
        "eager",
    )
    raw = snapshot.assets[2]
    assert raw.description == "Orders, one file a day."
    assert raw.partitions == {
        "type": "time_window",
        "schedule_type": "DAILY",
        "cron_schedule": "0 0 * * *",
        "timezone": "UTC",
        "fmt": "%Y-%m-%d",
        "start": "2024-01-01",
        "end": None,
        "end_offset": 0,
        "description": "Daily, starting 2024-01-01 UTC.",
    }
    [check] = snapshot.asset_checks
    assert (check.key, check.asset_key, check.blocking) == (
        "customers:customers_not_empty",
        "customers",
        False,
    )

    schedules = {schedule.name: schedule for schedule in snapshot.schedules}
    assert snapshot.schedule_names == [
        "customers_twice_daily",
        "daily_orders_job_schedule",
        "nightly_customers",
    ]
    twice = schedules["customers_twice_daily"]
    assert (twice.cron_schedules, twice.timezone, twice.job_name) == (
        ["0 6 * * *", "0 18 * * *"],
        "America/New_York",
        "customers_job",
    )
    assert (twice.default_status, twice.description) == ("STOPPED", "Twice a day.")
    partitioned = schedules["daily_orders_job_schedule"]
    assert (partitioned.cron_schedules, partitioned.partitioned) == (["0 0 * * *"], True)
    assert schedules["nightly_customers"].default_status == "RUNNING"

    sensors = {sensor.name: sensor for sensor in snapshot.sensors}
    assert (sensors["new_regions"].type, sensors["new_regions"].minimum_interval_seconds) == (
        "standard",
        60,
    )
    assert (sensors["customers_updated"].type, sensors["customers_updated"].asset_key) == (
        "asset",
        "customers",
    )
    assert sensors["customers_updated"].job_names == ["customers_job"]
    assert sensors["broken_sensor"].default_status == "RUNNING"


def test_the_same_definitions_give_the_same_json_and_hash_and_a_change_another() -> None:
    first = snapshot_to_dict(build_snapshot(make_defs(), "sample"))
    again = snapshot_to_dict(build_snapshot(make_defs(), "sample"))
    changed = snapshot_to_dict(build_snapshot(make_defs(nightly_cron="0 3 * * *"), "sample"))

    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert len(first["content_hash"]) == 64
    assert first["content_hash"] == again["content_hash"]
    assert changed["content_hash"] != first["content_hash"]
    # The name is the location's, not its code's: renaming it is not a code change.
    renamed = build_snapshot(make_defs(), "other")
    assert renamed.content_hash == first["content_hash"]


def test_the_json_form_reads_back_and_ignores_fields_it_does_not_know() -> None:
    snapshot = build_snapshot(make_defs(), "sample")
    data = json.loads(json.dumps(snapshot_to_dict(snapshot)))
    data["jobs"][0]["added_by_a_newer_server"] = True

    assert snapshot_from_dict(data) == snapshot


def test_partitions_summaries_name_the_kind_and_what_defines_the_keys() -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu"])
    files = dg.DynamicPartitionsDefinition(name="files")
    multi = dg.MultiPartitionsDefinition({"region": regions, "file": files})

    assert partitions_summary(None) is None
    assert partitions_summary(regions) == {
        "type": "static",
        "partition_keys": ["us", "eu"],
        "description": "2 static partitions",
    }
    assert partitions_summary(files) == {
        "type": "dynamic",
        "name": "files",
        "description": 'Dynamic partitions: "files"',
    }
    summary = partitions_summary(multi)
    assert summary is not None
    assert summary["type"] == "multi"
    assert [dim["name"] for dim in summary["dimensions"]] == ["file", "region"]
    assert summary["dimensions"][1]["partitions"]["partition_keys"] == ["us", "eu"]
