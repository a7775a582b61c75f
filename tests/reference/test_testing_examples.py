"""Reference section "Testing": assets are plain functions, called directly in tests with
upstream values, `Config` objects, mocked resources or a context built for a partition.

Each reference example defines its own `loaded_file`, so each test below defines its asset in
its body. `S3FileManager` and `S3FileHandle` (from dagster-aws) are small stand-ins here; the
test mocks the resource exactly as the reference does.
"""

from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

import kubedag as dg


@dataclass(frozen=True)
class S3FileHandle:
    s3_bucket: str
    s3_key: str


class S3FileManager(dg.ConfigurableResource):
    """Stand-in for dagster-aws' file manager: the real one would read from S3."""

    def read_data(self, file_handle: S3FileHandle) -> str:
        raise NotImplementedError("no S3 here; tests mock this resource")


@pytest.fixture
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the examples open files relative to the working directory
    return tmp_path


def test_loaded_file(in_tmp_path: Path) -> None:
    (in_tmp_path / "path.txt").write_text("contents")

    @dg.asset
    def loaded_file() -> str:
        with open("path.txt") as file:
            return file.read()

    assert loaded_file() == "contents"


@dg.asset
def processed_file(loaded_file: str) -> str:
    return loaded_file.strip()


def test_processed_file() -> None:
    assert processed_file(" contents ") == "contents"


def test_processed_file_without_its_upstream_value_names_the_input() -> None:
    with pytest.raises(dg.InvalidInvocationError, match='required input "loaded_file"'):
        processed_file()


class FilepathConfig(dg.Config):
    path: str


def test_loaded_file_with_config(in_tmp_path: Path) -> None:
    (in_tmp_path / "path1.txt").write_text("contents1")

    @dg.asset
    def loaded_file(config: FilepathConfig) -> str:
        with open(config.path) as file:
            return file.read()

    assert loaded_file(FilepathConfig(path="path1.txt")) == "contents1"
    with pytest.raises(dg.InvalidConfigError, match="path: required by FilepathConfig"):
        loaded_file()


def test_loaded_file_with_a_mocked_resource() -> None:
    @dg.asset
    def loaded_file(file_manager: S3FileManager) -> str:
        return file_manager.read_data(S3FileHandle("bucket", "path.txt"))

    mocked = mock.Mock(spec=S3FileManager)
    mocked.read_data.return_value = "contents"
    assert loaded_file(mocked) == "contents"
    mocked.read_data.assert_called_once_with(S3FileHandle("bucket", "path.txt"))
    assert loaded_file.required_resource_keys == frozenset({"file_manager"})


@dg.asset(partitions_def=dg.DailyPartitionsDefinition("2024-01-01"))
def daily_data(context: dg.AssetExecutionContext) -> str:
    return f"data for {context.partition_key}"


def test_daily_data() -> None:
    context = dg.build_asset_context(partition_key="2024-08-16")
    assert daily_data(context) == "data for 2024-08-16"


def test_daily_data_without_a_partition_key_says_how_to_give_one() -> None:
    with pytest.raises(AttributeError, match="partition_key"):
        daily_data(dg.build_asset_context())
