"""Reference section "I/O managers": assets return values and the I/O manager bound as
`io_manager` stores them and loads them for downstream assets.

Adapted: pandas, DuckDB and the network are not available. `read_csv` fetches from a fake HTTP
client and parses with the csv module (numbers become floats, empty cells None, as pandas
would); `LocalJsonIOManager` stands in for `DuckDBPandasIOManager` and writes one JSON file per
asset under `<base_dir>/<schema_name>/`.
"""

import csv
import io
import json
from pathlib import Path
from typing import Any

import kubedag as dg

Rows = list[dict[str, Any]]


class FakeHttpClient:
    """Serves canned response bodies by URL, in place of the network."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages

    def get_text(self, url: str) -> str:
        return self.pages[url]


http = FakeHttpClient(
    {"https://example.com/sales.csv": "owner,amount\nalice,10.5\nbob,\nalice,4.5\ncarol,2\n"}
)


def _number_or_none(text: str) -> Any:
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(url: str) -> Rows:
    reader = csv.DictReader(io.StringIO(http.get_text(url)))
    return [{k: _number_or_none(v) for k, v in row.items()} for row in reader]


@dg.asset
def raw_sales_data() -> Rows:
    return read_csv("https://example.com/sales.csv")


@dg.asset
def clean_sales_data(raw_sales_data: Rows) -> Rows:
    return [
        {**row, "amount": 0.0 if row["amount"] is None else row["amount"]} for row in raw_sales_data
    ]


@dg.asset
def sales_summary(clean_sales_data: Rows) -> Rows:
    totals: dict[str, float] = {}
    for row in clean_sales_data:
        totals[row["owner"]] = totals.get(row["owner"], 0.0) + row["amount"]
    return [{"owner": owner, "amount": amount} for owner, amount in sorted(totals.items())]


class LocalJsonIOManager(dg.ConfigurableIOManager):
    """Stores each asset as `<base_dir>/<schema_name>/<asset key>.json`."""

    base_dir: str
    schema_name: str = "public"

    def _path(self, context: dg.OutputContext) -> Path:
        return Path(self.base_dir, self.schema_name, *context.asset_key.path).with_suffix(".json")

    def handle_output(self, context: dg.OutputContext, obj: Rows) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj))
        context.add_output_metadata({"num_rows": len(obj)})

    def load_input(self, context: dg.InputContext) -> Rows:
        return json.loads(self._path(context.upstream_output).read_text())


def make_defs(base_dir: Path) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_sales_data, clean_sales_data, sales_summary],
        resources={
            "io_manager": LocalJsonIOManager(
                base_dir=str(base_dir / "sales"),
                schema_name="public",
            )
        },
    )


EXPECTED_SUMMARY = [
    {"owner": "alice", "amount": 15.0},
    {"owner": "bob", "amount": 0.0},
    {"owner": "carol", "amount": 2.0},
]


def test_io_manager_stores_every_asset_and_feeds_downstream(tmp_path: Path) -> None:
    result = make_defs(tmp_path).get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    stored = tmp_path / "sales" / "public"
    assert sorted(p.name for p in stored.iterdir()) == [
        "clean_sales_data.json",
        "raw_sales_data.json",
        "sales_summary.json",
    ]
    assert json.loads((stored / "sales_summary.json").read_text()) == EXPECTED_SUMMARY
    assert json.loads((stored / "clean_sales_data.json").read_text())[1] == {
        "owner": "bob",
        "amount": 0.0,
    }
    assert result.output_for_node("sales_summary") == EXPECTED_SUMMARY


def test_metadata_added_by_the_io_manager_is_on_the_materialization(tmp_path: Path) -> None:
    result = make_defs(tmp_path).get_implicit_global_asset_job_def().execute_in_process()

    [materialization] = result.asset_materializations_for_node("raw_sales_data")
    assert materialization.metadata["num_rows"].value == 4


def test_later_run_loads_upstream_from_storage(tmp_path: Path) -> None:
    job = make_defs(tmp_path).get_implicit_global_asset_job_def()
    job.execute_in_process()
    summary_file = tmp_path / "sales" / "public" / "sales_summary.json"
    summary_file.unlink()

    result = job.execute_in_process(asset_selection=[sales_summary])

    assert result.success
    loaded = [e for e in result.all_events if e.event_type is dg.EventType.LOADED_INPUT]
    assert [e.event_specific_data.asset_key for e in loaded] == [dg.AssetKey("clean_sales_data")]
    assert json.loads(summary_file.read_text()) == EXPECTED_SUMMARY


def test_loading_what_was_never_stored_fails_the_step(tmp_path: Path) -> None:
    job = make_defs(tmp_path).get_implicit_global_asset_job_def()

    result = job.execute_in_process(asset_selection=[sales_summary], raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "sales_summary"
    error = failure.step_failure_data.error
    assert error is not None
    assert "loading input 'clean_sales_data'" in error.message
    assert error.cause is not None and error.cause.cls_name == "FileNotFoundError"


def test_assets_are_plain_functions_of_their_inputs() -> None:
    raw = [{"owner": "dan", "amount": None}, {"owner": "dan", "amount": 1.5}]

    assert sales_summary(clean_sales_data(raw)) == [{"owner": "dan", "amount": 1.5}]
