"""`local_file_manager`, `FileHandle` and `LocalFileHandle`; `AssetValueLoader`."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


def test_local_file_manager_reference_example(tmp_path: Path) -> None:
    """The internals reference's example: write two files, pass the handles downstream."""

    @dg.op(required_resource_keys={"file_manager"})
    def write_files(context: dg.OpExecutionContext) -> tuple[Any, Any]:
        fh_1 = context.resources.file_manager.write_data(b"foo")
        with tempfile.NamedTemporaryFile("w+") as fd:
            fd.write("bar")
            fd.seek(0)
            fh_2 = context.resources.file_manager.write(fd, mode="w", ext=".txt")
        return (fh_1, fh_2)

    @dg.op(required_resource_keys={"file_manager"})
    def read_files(context: dg.OpExecutionContext, file_handles: tuple[Any, Any]) -> str:
        fh_1, fh_2 = file_handles
        assert context.resources.file_manager.read_data(fh_1) == b"foo"
        assert context.resources.file_manager.read_data(fh_2) == b"bar"
        with context.resources.file_manager.read(fh_2, mode="r") as fd:
            return str(fd.read())

    @dg.job(
        resource_defs={
            "file_manager": dg.local_file_manager.configured({"base_dir": str(tmp_path)})
        }
    )
    def files_pipeline() -> None:
        read_files(write_files())

    result = files_pipeline.execute_in_process()
    assert result.output_for_node("read_files") == "bar"
    fh_1, fh_2 = result.output_for_node("write_files")
    assert isinstance(fh_1, dg.LocalFileHandle) and isinstance(fh_1, dg.FileHandle)
    assert Path(fh_1.path).parent == tmp_path and fh_1.path_desc == fh_1.path
    assert fh_2.path.endswith(".txt")


def test_local_temp_copies_are_deleted(tmp_path: Path) -> None:
    with dg.build_resources(
        {"files": dg.local_file_manager},
        resource_config={"files": {"config": {"base_dir": str(tmp_path)}}},
    ) as resources:
        manager = resources.files
        handle = manager.write(io.BytesIO(b"payload"), ext="bin")
        temp = manager.copy_handle_to_local_temp(handle)
        assert Path(temp).read_bytes() == b"payload"
        manager.delete_local_temp()
        assert not os.path.exists(temp)
        kept = manager.copy_handle_to_local_temp(handle)
    assert not os.path.exists(kept)  # teardown removes what is left
    assert Path(handle.path).read_bytes() == b"payload"  # the stored file stays
    with pytest.raises(TypeError):
        manager.write_data("not bytes")


def test_local_file_manager_defaults_to_the_instance_storage(tmp_path: Path) -> None:
    instance = dg.Instance.ephemeral()

    @dg.op(required_resource_keys={"file_manager"})
    def write(context: dg.OpExecutionContext) -> str:
        return str(context.resources.file_manager.write_data(b"x").path)

    @dg.job(resource_defs={"file_manager": dg.local_file_manager})
    def write_job() -> None:
        write()

    result = write_job.execute_in_process(instance=instance)
    path = Path(result.output_for_node("write"))
    assert path.parent.name == "file_manager"
    assert path.read_bytes() == b"x"


def test_definitions_load_asset_value_through_the_io_manager(tmp_path: Path) -> None:
    letters = dg.StaticPartitionsDefinition(["a", "b"])

    @dg.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.asset(partitions_def=letters)
    def upper(context: dg.AssetExecutionContext) -> str:
        return context.partition_key.upper()

    instance = dg.Instance.from_config({}, home=str(tmp_path / "home"))
    defs = dg.Definitions(assets=[numbers, upper])
    assert dg.materialize([numbers], instance=instance).success
    for key in ("a", "b"):
        assert dg.materialize([upper], instance=instance, partition_key=key).success

    assert defs.load_asset_value("numbers", instance=instance) == [1, 2, 3]
    with defs.get_asset_value_loader(instance=instance) as loader:
        assert isinstance(loader, dg.AssetValueLoader)
        assert loader.load_asset_value(["upper"], partition_key="b") == "B"
        assert loader.load_asset_value(
            "upper", partition_key_range=dg.PartitionKeyRange("a", "b")
        ) == {"a": "A", "b": "B"}
    instance.dispose()


def test_asset_value_loader_uses_the_bound_io_manager_and_its_config() -> None:
    seen: list[Any] = []

    class Echo(dg.IOManager):
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
            raise AssertionError("not called")

        def load_input(self, context: dg.InputContext) -> Any:
            seen.append(context.dagster_type)
            return f"{self.prefix}{context.asset_key.to_user_string()}"

    @dg.io_manager(config_schema={"prefix": dg.Field(str, default_value="")})
    def echo_io(init_context: dg.InitResourceContext) -> Echo:
        return Echo(init_context.resource_config["prefix"])

    @dg.asset(io_manager_key="echo")
    def stored() -> int:
        return 1

    defs = dg.Definitions(assets=[stored], resources={"echo": echo_io})
    with defs.get_asset_value_loader() as loader:
        assert loader.load_asset_value("stored", python_type=int) == "stored"
        assert loader.load_asset_value("stored", resource_config={"prefix": "p:"}) == "p:stored"
    assert seen == [int, None]
    with pytest.raises(KeyError, match="nothing_here"):
        defs.load_asset_value("nothing_here")
