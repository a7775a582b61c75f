"""`dg.build_reconstructable_job`: a job made by a function with arguments, rebuilt by each
step's spawned process of the multiprocess executor."""

import os
import uuid
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import InvalidInvocationError

FACTORY = """
import os
import kubedag as dg

def make_job(count, suffix="x"):
    @dg.op(out=dg.DynamicOut())
    def parts():
        for n in range(count):
            yield dg.DynamicOutput(n, mapping_key=f"p{n}")

    @dg.op
    def where(n: int) -> list:
        return [n, os.getpid()]

    @dg.op
    def summary(items: list) -> list:
        return items

    @dg.job(name=f"built_{suffix}")
    def built():
        summary(parts().map(where).collect())

    return built

def not_a_job():
    return 3
"""


@pytest.fixture
def factory(tmp_path: Path) -> str:
    name = f"graphs_factory_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(FACTORY)
    return name


def test_the_job_is_built_by_calling_the_function(factory: str, tmp_path: Path) -> None:
    job = dg.build_reconstructable_job(
        factory,
        "make_job",
        reconstructable_args=(2,),
        reconstructable_kwargs={"suffix": "y"},
        reconstructor_working_directory=str(tmp_path),
    )
    assert isinstance(job, dg.ReconstructableJob)
    assert job.get_definition().name == "built_y"
    assert job.code_location is not None and job.code_location["reconstructor"] == "make_job"


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_each_spawned_step_rebuilds_the_job(
    factory: str, tmp_path: Path, start_method: str
) -> None:
    job = dg.build_reconstructable_job(
        factory, "make_job", (3,), reconstructor_working_directory=str(tmp_path)
    )
    config = {"execution": {"config": {"multiprocess": {"start_method": start_method}}}}
    with dg.Instance.from_config({}, home=str(tmp_path / "home")) as instance:
        result = dg.execute_job(job, instance, run_config=config)
        assert result.success, [e.message for e in result.get_step_failure_events()]
        items = result.output_for_node("summary")
        assert [n for n, _ in items] == [0, 1, 2]
        assert os.getpid() not in {pid for _, pid in items}
        assert instance.get_run_by_id(result.run_id).code_location["reconstructor"] == "make_job"


def test_mistakes_name_the_function(factory: str, tmp_path: Path) -> None:
    where = str(tmp_path)
    with pytest.raises(InvalidInvocationError, match="nope not found in module"):
        dg.build_reconstructable_job(factory, "nope", reconstructor_working_directory=where)
    with pytest.raises(InvalidInvocationError, match="returned int, not a job"):
        dg.build_reconstructable_job(factory, "not_a_job", reconstructor_working_directory=where)
    with pytest.raises(InvalidInvocationError, match="must be JSON values"):
        dg.build_reconstructable_job(
            factory, "make_job", (object(),), reconstructor_working_directory=where
        )
    with pytest.raises(dg.CodeLocationLoadError, match="cannot import module"):
        dg.build_reconstructable_job("no_such_module_here", "make_job")
