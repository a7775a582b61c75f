"""Metadata values through the event log and back, on every storage, and as the command line
shows them (`kubedag runs show`, text and `--json`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.cli.main import main
from kubedag.instance.instance import Instance

M = dg.MetadataValue
SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("id", "int", constraints=dg.TableColumnConstraints(nullable=False)),
        dg.TableColumn("total", "float", description="in euros"),
    ],
    constraints=dg.TableConstraints(other=["id is unique"]),
)
LINEAGE = dg.TableColumnLineage(
    {"total": [dg.TableColumnDep("raw_orders", "amount"), dg.TableColumnDep("fx", "rate")]}
)
RICH: dict[str, Any] = {
    "rows": 2,
    "ratio": 0.25,
    "ok": True,
    "note": "two orders",
    "columns": ["id", "total"],
    "nothing": None,
    "upstream": dg.AssetKey(["raw", "orders"]),
    "dashboard": M.url("https://dash.example/orders"),
    "file": M.path("/data/orders.parquet"),
    "notebook": M.notebook("/nb/orders.ipynb"),
    "readme": M.md("# Orders\nOne row per order."),
    "doc": M.json({"owner": "sales"}),
    "at": M.timestamp(1700000000.0),
    "run": M.dagster_run("0f6a3c1e"),
    "job": M.job("nightly", "etl"),
    "artifact": M.python_artifact(dg.materialize),
    "pool": M.pool("warehouse"),
    "schema": SCHEMA,
    "lineage": LINEAGE,
    "preview": M.table(
        [dg.TableRecord({"id": 1, "total": 9.5}), dg.TableRecord({"id": 2, "total": 3.0})],
        schema=SCHEMA,
    ),
    "code": dg.CodeReferencesMetadataValue(
        code_references=[
            dg.LocalFileCodeReference(file_path="/src/orders.py", line_number=12),
            dg.UrlCodeReference(url="https://git.example/orders.py#L12", label="git"),
        ]
    ),
}


@dg.asset
def orders() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=RICH)


@dg.asset
def observer(context: dg.AssetExecutionContext) -> None:
    context.log_event(
        dg.AssetObservation(asset_key="orders", metadata={"rows": 2, "schema": SCHEMA})
    )


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    document: dict[str, Any] = {}
    if request.param == "memory":
        document = {"storage": {"in_memory": {}}}
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        document = {"storage": {"postgres": {"postgres_url": url}}}
    with dg.Instance.from_config(document, home=tmp_path / "home") as persistent:
        yield persistent


def test_every_kind_reads_back_equal_from_the_event_log(instance: Instance) -> None:
    result = dg.materialize([orders, observer], instance=instance)
    [written] = result.asset_materializations_for_node("orders")
    latest = instance.get_latest_materialization_event("orders")
    assert latest is not None and latest.event is not None
    read = latest.event.materialization.metadata
    assert read == written.metadata
    assert set(read) == set(RICH)
    assert type(read["rows"]) is dg.IntMetadataValue and read["rows"].value == 2
    assert read["upstream"].value == dg.AssetKey(["raw", "orders"])
    assert read["schema"].value == SCHEMA
    assert read["lineage"].value.deps_by_column["total"][0].asset_key == dg.AssetKey("fx")
    assert read["preview"].records[1].data == {"id": 2, "total": 3.0}
    assert read["code"].code_references[1].label == "git"
    # all_logs decodes the general (not the flat) form of other events: the same values.
    [stored] = [
        e.event.asset_observation
        for e in instance.all_logs(result.run_id, of_type=dg.EventType.ASSET_OBSERVATION)
        if e.event is not None
    ]
    assert stored.metadata == {"rows": dg.IntMetadataValue(2), "schema": M.table_schema(SCHEMA)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kubedag-home"
    monkeypatch.setenv("KUBEDAG_HOME", str(home))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return home


def _run_show(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["runs", "show", *args]) == 0
    return capsys.readouterr().out


def test_runs_show_prints_each_kind_readably(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Instance.get() as local:
        run_id = dg.materialize([orders], instance=local).run_id
    text = _run_show(capsys, run_id)
    for line in [
        "rows: 2",
        "ratio: 0.25",
        "ok: True",
        "note: two orders",
        'columns: ["id", "total"]',
        "nothing: null",
        "upstream: asset raw/orders",
        "dashboard: https://dash.example/orders",
        "file: /data/orders.parquet",
        "at: 2023-11-14 22:13:20 UTC",
        "job: job nightly in etl",
        "artifact: kubedag.execution.materialize.materialize",
        "schema: table schema: id (int), total (float)",
        "lineage: column lineage: total <- fx.rate, raw_orders.amount",
        "preview: table of 2 rows: id (int), total (float)",
        "code: /src/orders.py:12, https://git.example/orders.py#L12",
    ]:
        assert f"      {line}\n" in text, line
    assert "Metadata" not in text or "Value(" not in text  # no reprs


def test_runs_show_json_gives_plain_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Instance.get() as local:
        run_id = dg.materialize([orders], instance=local).run_id
    shown = json.loads(_run_show(capsys, run_id, "--json"))
    [materialization] = shown["materializations"]
    metadata = materialization["metadata"]
    assert metadata["rows"] == 2 and metadata["ok"] is True and metadata["nothing"] is None
    assert metadata["columns"] == ["id", "total"]
    assert metadata["upstream"] == "raw/orders"
    assert metadata["schema"]["columns"][1] == {
        "name": "total",
        "type": "float",
        "description": "in euros",
        "nullable": True,
        "unique": False,
    }
    assert metadata["preview"]["records"] == [{"id": 1, "total": 9.5}, {"id": 2, "total": 3.0}]
    assert metadata["lineage"]["total"][0] == {"asset_key": "fx", "column_name": "rate"}
    assert metadata["code"] == ["/src/orders.py:12", "https://git.example/orders.py#L12"]
