"""Config: typed per-asset config from run config dicts or RunConfig objects."""

import pytest

import kubedag as dg


class Sampling(dg.Config):
    fraction: float = 0.5
    seed: int


@dg.asset
def sample(config: Sampling) -> tuple[float, int]:
    return (config.fraction, config.seed)


def test_dict_run_config_reaches_the_asset() -> None:
    result = dg.materialize([sample], run_config={"ops": {"sample": {"config": {"seed": 7}}}})
    assert result.output_for_node("sample") == (0.5, 7)


def test_run_config_object_with_config_instances() -> None:
    result = dg.materialize(
        [sample], run_config=dg.RunConfig(ops={"sample": Sampling(seed=3, fraction=0.1)})
    )
    assert result.output_for_node("sample") == (0.1, 3)


def test_stored_run_config_is_plain_data() -> None:
    instance = dg.Instance.ephemeral()
    result = dg.materialize(
        [sample], instance=instance, run_config=dg.RunConfig(ops={"sample": Sampling(seed=3)})
    )
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    assert run.run_config == {"ops": {"sample": {"config": {"fraction": 0.5, "seed": 3}}}}


def test_unknown_config_field_is_named() -> None:
    with pytest.raises(
        dg.InvalidConfigError, match=r"ops\.sample\.config\.sede: not a field of Sampling"
    ):
        dg.materialize([sample], run_config={"ops": {"sample": {"config": {"seed": 1, "sede": 2}}}})


def test_job_default_config_is_merged_under_run_config() -> None:
    defs = dg.Definitions(
        assets=[sample],
        jobs=[
            dg.define_asset_job(
                "sampling", config={"ops": {"sample": {"config": {"seed": 1, "fraction": 0.9}}}}
            )
        ],
    )
    job = defs.get_job_def("sampling")
    assert job.execute_in_process().output_for_node("sample") == (0.9, 1)
    overridden = job.execute_in_process(run_config={"ops": {"sample": {"config": {"seed": 2}}}})
    assert overridden.output_for_node("sample") == (0.9, 2)


def test_op_config_schema_and_op_config() -> None:
    @dg.op(config_schema={"rows": int})
    def limited(context: dg.OpExecutionContext) -> int:
        return int(context.op_config["rows"])

    @dg.job
    def limiting():
        limited()

    assert (
        limiting.execute_in_process(
            run_config={"ops": {"limited": {"config": {"rows": 5}}}}
        ).output_for_node("limited")
        == 5
    )
    with pytest.raises(dg.InvalidConfigError, match=r"ops\.limited\.config\.rows: expected Int"):
        limiting.execute_in_process(run_config={"ops": {"limited": {"config": {"rows": "5"}}}})


def test_nested_graph_op_config() -> None:
    @dg.op
    def scaled(config: Sampling) -> float:
        return config.fraction * config.seed

    @dg.graph
    def inner():
        return scaled()

    @dg.job
    def outer():
        inner()

    result = outer.execute_in_process(
        run_config={
            "ops": {"inner": {"ops": {"scaled": {"config": {"seed": 4, "fraction": 0.25}}}}}
        }
    )
    assert result.output_for_node("inner.scaled") == 1.0
    assert result.output_for_node("inner") == 1.0
