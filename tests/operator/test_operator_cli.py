"""`kubedag operator` and `python -m kubedag_operator`: the command line (the operator itself
runs in tests/operator/test_handlers_run.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubedag.cli.main import main


def test_the_command_needs_namespaces_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["operator"]) == 2
    assert "--namespace" in capsys.readouterr().err


def test_peering_and_standalone_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["operator", "-n", "data", "--peering", "p", "--standalone"]) == 2
    assert "--peering or --standalone" in capsys.readouterr().err


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kubedag_operator", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--all-namespaces" in done.stdout


def test_import_kubedag_does_not_import_the_operator() -> None:
    code = "import sys, kubedag.cli.main; print('kopf' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--peering-lifetime", "0"], "--peering-lifetime"),
        (["--standalone", "--peering-lifetime", "5"], "--peering-lifetime"),
        (["--liveness", "tcp://0.0.0.0:8080"], "--liveness"),
        (["--metrics-port", "70000"], "--metrics-port"),
    ],
)
def test_invalid_ha_and_endpoint_flags_are_named(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["operator", "-n", "data", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_help_explains_the_ha_and_endpoint_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["operator", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--peering-lifetime", "--liveness", "--metrics-port"):
        assert flag in out
