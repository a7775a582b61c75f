"""Reference section "Common patterns", data passing: a parameter named after an upstream asset
receives its value.

pandas is not installed: `raw_data` reads data.csv with the csv module and `cleaned_data` drops
rows with an empty cell, as `DataFrame.dropna()` would.
"""

import csv
from pathlib import Path

import pytest

import kubedag as dg

Rows = list[dict[str, str]]


@dg.asset
def raw_data() -> Rows:
    with open("data.csv", newline="") as f:
        return list(csv.DictReader(f))


@dg.asset
def cleaned_data(raw_data: Rows) -> Rows:
    return [row for row in raw_data if all(value != "" for value in row.values())]


def test_upstream_value_is_passed_by_parameter_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("id,name\n1,ada\n2,\n3,grace\n")

    result = dg.materialize([raw_data, cleaned_data], instance=instance)

    assert result.success
    assert cleaned_data.keys_by_input_name == {"raw_data": dg.AssetKey("raw_data")}
    assert len(result.asset_value("raw_data")) == 3
    assert result.asset_value("cleaned_data") == [
        {"id": "1", "name": "ada"},
        {"id": "3", "name": "grace"},
    ]


def test_downstream_alone_loads_the_stored_upstream_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("id,name\n1,ada\n")
    dg.materialize([raw_data, cleaned_data], instance=instance)
    (tmp_path / "data.csv").unlink()  # a second run must not read the source again

    result = dg.materialize([raw_data, cleaned_data], selection=[cleaned_data], instance=instance)

    assert result.success
    assert result.asset_value("cleaned_data") == [{"id": "1", "name": "ada"}]
