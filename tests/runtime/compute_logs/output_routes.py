"""Output on every route a step can take, and checks that each line landed in the right stream."""

from __future__ import annotations

import os
import subprocess
import sys


def emit_on_every_route(tag: str) -> None:
    """Write `tag` through Python and through child processes, to both streams."""
    print(f"{tag}:print")
    sys.stderr.write(f"{tag}:stderr-write\n")
    subprocess.run(["echo", f"{tag}:subprocess-out"], check=True)
    subprocess.run(["sh", "-c", f"echo {tag}:subprocess-err >&2"], check=True)
    os.system(f"echo {tag}:os-system")


EXPECTED_STDOUT = ("print", "subprocess-out", "os-system")
EXPECTED_STDERR = ("stderr-write", "subprocess-err")


def assert_routed(tag: str, stdout: str, stderr: str) -> None:
    for route in EXPECTED_STDOUT:
        assert f"{tag}:{route}" in stdout
        assert f"{tag}:{route}" not in stderr
    for route in EXPECTED_STDERR:
        assert f"{tag}:{route}" in stderr
        assert f"{tag}:{route}" not in stdout


def fd_identity(fd: int) -> tuple[int, int]:
    stat = os.fstat(fd)
    return stat.st_dev, stat.st_ino
