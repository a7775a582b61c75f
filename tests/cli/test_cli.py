"""The `kubedag` command, end to end: a real process, a real local instance in a temp folder."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "definitions.py"


def kubedag_executable() -> str:
    """The console script installed next to this interpreter (the project's .venv)."""
    beside = Path(sys.executable).parent / "kubedag"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubedag")
    assert found, "the kubedag console script is not installed; run `make test`"
    return found


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def kubedag(home: Path, *args: str, cwd: Path = REPO) -> Completed:
    env = {**os.environ, "KUBEDAG_HOME": str(home)}
    done = subprocess.run(
        [kubedag_executable(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "kubedag-home"


def test_version(home: Path) -> None:
    done = kubedag(home, "--version")
    assert done.code == 0
    assert done.stdout.strip() == "kubedag 0.1.0"


def test_materialize_the_quickstart(home: Path) -> None:
    done = kubedag(home, "materialize", "-f", str(QUICKSTART))
    assert done.code == 0, done.stderr
    out = done.stdout
    assert out.startswith("Run SUCCESS in ")
    for asset in ("raw_orders", "cleaned_orders", "daily_summary"):
        assert f"\n  {asset}\n" in out  # under Materializations
    assert "PASSED  cleaned_orders:no_negative_amounts  (blocking)" in out
    assert "rows: 17" in out and "dropped: 5" in out
    assert "revenue: 1564.2" in out
    # The summary names the commands that show the stored run and its step logs.
    run_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("Run id:"))
    assert f"Details: kubedag runs show {run_id}\n" in out
    assert f"Logs:    kubedag logs {run_id}\n" in out
    assert not (home / "logs").exists()  # no text log beside the database any more
    shown = kubedag(home, "runs", "show", run_id)
    assert shown.code == 0, shown.stderr
    assert "  Status:     SUCCESS" in shown.stdout
    step_logs = kubedag(home, "logs", run_id, "--step", "cleaned_orders", "--stderr")
    assert "Dropped 5 invalid rows out of 22." in step_logs.stdout
    # Values landed in the instance's storage directory, where the summary says.
    storage = home / "storage"
    assert f"Data:    {storage}" in out
    with (storage / "daily_summary").open("rb") as handle:
        summary = pickle.load(handle)
    assert list(summary) == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]
    # context.log.info went to stderr while the run was going, between the progress lines.
    assert "Dropped 5 invalid rows out of 22." in done.stderr
    assert "Traceback" not in done.stderr
    progress = [line.strip() for line in done.stderr.splitlines() if line.startswith("  [")]
    assert progress == [
        "[1/4] raw_orders succeeded",
        "[2/4] cleaned_orders succeeded",
        "[3/4] cleaned_orders_no_negative_amounts succeeded",
        "[4/4] daily_summary succeeded",
    ]


def test_steps_have_a_status_and_a_duration(home: Path) -> None:
    done = kubedag(home, "materialize", "-f", str(QUICKSTART))
    steps = done.stdout.split("\nSteps\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in steps] == [
        "raw_orders",
        "cleaned_orders",
        "cleaned_orders_no_negative_amounts",
        "daily_summary",
    ]
    for line in steps:
        _key, status, amount, unit = line.split()
        assert status == "succeeded"
        assert float(amount) >= 0 and unit in ("ms", "s")


def test_select_reuses_stored_upstream_values(home: Path) -> None:
    first = kubedag(home, "materialize", "-f", str(QUICKSTART), "--select", "cleaned_orders")
    # raw_orders was never stored in this home, so cleaned_orders cannot load it.
    assert first.code == 1
    assert "No stored value for asset 'raw_orders'" in first.stdout
    assert kubedag(home, "materialize", "-f", str(QUICKSTART)).code == 0
    again = kubedag(home, "materialize", "-f", str(QUICKSTART), "--select", "daily_summary")
    assert again.code == 0, again.stdout
    steps = again.stdout.split("\nSteps\n")[1].split("\n\n")[0]
    assert steps.split() == ["daily_summary", "succeeded", *steps.split()[2:4]]


def test_run_config_file_configures_a_resource(home: Path) -> None:
    config = QUICKSTART.parent / "run_config_usd.yaml"
    done = kubedag(home, "materialize", "-f", str(QUICKSTART), "--config", str(config))
    assert done.code == 0, done.stderr
    assert "currency: USD" in done.stdout
    assert "revenue: 1564.2" not in done.stdout  # the EUR total


def test_a_wrong_run_config_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "bad.yaml", "ops:\n  nope:\n    config: {}\n")
    done = kubedag(home, "materialize", "-f", str(QUICKSTART), "--config", str(config))
    assert done.code == 2
    # The error comes last, after the line announcing what was about to run.
    assert done.stderr.strip().splitlines()[-1].startswith("kubedag: error: ")
    assert "ops.nope" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    missing = kubedag(home, "materialize", "-f", str(QUICKSTART), "--config", "missing.yaml")
    assert missing.code == 2 and "missing.yaml" in missing.stderr


def test_an_unknown_selection_is_a_usage_error(home: Path) -> None:
    done = kubedag(home, "materialize", "-f", str(QUICKSTART), "--select", "nope")
    assert done.code == 2
    assert "'nope'" in done.stderr and "raw_orders" in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_definitions_give_one_paragraph_and_exit_2(home: Path, tmp_path: Path) -> None:
    broken = write(
        tmp_path / "broken.py",
        """
        import kubedag as dg

        @dg.asset
        def orders() -> list[int]:
            return [1, 2]

        defs = dg.Definitions(assets=[orders, revenue])
        """,
    )
    done = kubedag(home, "materialize", "-f", str(broken))
    assert done.code == 2
    message = done.stderr.strip()
    assert "\n" not in message  # one paragraph, no traceback wall
    assert message.startswith("kubedag: error: Cannot load definitions from file")
    assert "broken.py" in message and "NameError" in message and "'revenue'" in message
    assert f"{broken.resolve()}:8" in message
    assert done.stdout == ""


def test_a_failing_asset_exits_1_with_the_users_error(home: Path, tmp_path: Path) -> None:
    failing = write(
        tmp_path / "failing.py",
        """
        import kubedag as dg

        @dg.asset
        def warehouses() -> int:
            return 0

        @dg.asset
        def orders_per_warehouse(warehouses: int) -> float:
            if warehouses == 0:
                raise ValueError("no warehouse is open, cannot split 120 orders")
            return 120 / warehouses

        @dg.asset
        def report(orders_per_warehouse: float) -> str:
            return f"{orders_per_warehouse:.1f}"

        defs = dg.Definitions(assets=[warehouses, orders_per_warehouse, report])
        """,
    )
    done = kubedag(home, "materialize", "-f", str(failing))
    assert done.code == 1
    out = done.stdout
    assert out.startswith("Run FAILURE in ")
    assert "ValueError: no warehouse is open, cannot split 120 orders" in out
    assert f'File "{failing.resolve()}", line 11, in orders_per_warehouse' in out
    steps = out.split("\nSteps\n")[1].split("\n\n")[0]
    assert "warehouses            succeeded" in steps
    assert "orders_per_warehouse  failed" in steps
    assert "report                skipped" in steps
    assert "upstream step" in steps
    assert "\nErrors\n  step orders_per_warehouse:\n" in out


def test_a_module_in_the_current_directory_loads(home: Path, tmp_path: Path) -> None:
    write(
        tmp_path / "my_pipeline.py",
        """
        import kubedag as dg

        @dg.asset(group_name="core")
        def numbers() -> list[int]:
            return [1, 2, 3]

        defs = dg.Definitions(assets=[numbers])
        """,
    )
    done = kubedag(home, "list", "-m", "my_pipeline", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "numbers  group: core" in done.stdout


def test_list_the_quickstart(home: Path) -> None:
    done = kubedag(home, "list", "-f", str(QUICKSTART))
    assert done.code == 0, done.stderr
    out = done.stdout
    assert "Assets (3)" in out and "Checks (1)" in out and "Jobs (1)" in out
    assert "Schedules (1)" in out and "Sensors (0)" in out
    assert "daily_summary   group: reporting  deps: cleaned_orders" in out
    assert "cleaned_orders:no_negative_amounts  blocking" in out
    assert "daily_refresh_schedule  cron: 0 6 * * *  job: daily_refresh" in out
    assert not home.exists()  # listing touches no instance


def test_usage_errors_exit_2(home: Path) -> None:
    assert kubedag(home).code == 2
    both = kubedag(home, "list", "-f", str(QUICKSTART), "-m", "x")
    assert both.code == 2 and "not allowed with" in both.stderr
    several = kubedag(home, "list", "-f", str(QUICKSTART), "-a", "nope")
    assert several.code == 2 and "no attribute 'nope'" in several.stderr


def test_partitioned_assets_need_a_partition(home: Path, tmp_path: Path) -> None:
    regional = write(
        tmp_path / "regional.py",
        """
        import kubedag as dg

        regions = dg.StaticPartitionsDefinition(["us", "eu"])

        @dg.asset(partitions_def=regions)
        def regional_sales(context: dg.AssetExecutionContext) -> int:
            return {"us": 3, "eu": 4}[context.partition_key]

        defs = dg.Definitions(assets=[regional_sales])
        """,
    )
    missing = kubedag(home, "materialize", "-f", str(regional))
    assert missing.code == 2 and "--partition KEY" in missing.stderr
    done = kubedag(home, "materialize", "-f", str(regional), "--partition", "eu")
    assert done.code == 0, done.stderr
    assert "  regional_sales [partition eu]\n" in done.stdout
    with (home / "storage" / "regional_sales" / "eu").open("rb") as handle:
        assert pickle.load(handle) == 4


def test_unreadable_config_and_empty_code_locations_are_usage_errors(
    home: Path, tmp_path: Path
) -> None:
    not_yaml = write(tmp_path / "broken.yaml", "ops: [unclosed\n")
    done = kubedag(home, "materialize", "-f", str(QUICKSTART), "--config", str(not_yaml))
    assert done.code == 2
    assert "broken.yaml' is not valid YAML" in done.stderr and "Traceback" not in done.stderr
    empty = write(tmp_path / "empty.py", "import kubedag as dg\ndefs = dg.Definitions()\n")
    nothing = kubedag(home, "materialize", "-f", str(empty))
    assert nothing.code == 2 and "defines no assets to materialize" in nothing.stderr
