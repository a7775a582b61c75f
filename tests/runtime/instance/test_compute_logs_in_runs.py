"""Step output reaches the configured compute log manager during real runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kubedag as dg


@dg.asset
def noisy() -> int:
    print("hello from noisy")
    print("warning from noisy", file=sys.stderr)
    subprocess.run(["echo", "from a child process"], check=True)
    return 1


@dg.asset
def quiet(noisy: int) -> int:
    return noisy + 1


def _document(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    if kind == "local":
        return {"compute_logs": {"local": {"base_dir": str(tmp_path / "logs")}}}
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return {
        "compute_logs": {
            "s3": {
                "bucket": bucket,
                "prefix": "runs",
                "endpoint_url": server.endpoint_url,
                "skip_empty_files": True,
                "upload_interval": 1,
            }
        }
    }


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_each_step_has_its_own_stdout_and_stderr(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    document = _document(kind, request, tmp_path)
    with dg.Instance.from_config(document, home=str(tmp_path / "home")) as instance:
        result = dg.materialize([noisy, quiet], instance=instance)
        manager = instance.compute_log_manager
        out = manager.read(result.run_id, "noisy").data.decode()
        err = manager.read(result.run_id, "noisy", "stderr").data.decode()
        assert "hello from noisy" in out and "from a child process" in out
        assert "warning from noisy" in err and "hello" not in err
        assert manager.read(result.run_id, "quiet").data == b""
        assert "noisy" in manager.list_steps(result.run_id)
        instance.delete_run(result.run_id)
        assert manager.read(result.run_id, "noisy").data == b""


def test_an_ephemeral_instance_captures_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with dg.Instance.ephemeral() as instance:
        result = dg.materialize([noisy, quiet], instance=instance)
        assert instance.compute_log_manager.list_steps(result.run_id) == []
    assert "hello from noisy" in capfd.readouterr().out
