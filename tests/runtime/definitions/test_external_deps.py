"""Dependencies on assets that nothing defines, or that a run does not select.

A `deps=` key that nothing defines is an external asset, as in the reference: the asset runs,
and the graph keeps the edge. An input must be loaded, so an input whose asset nothing defines
is an error naming the asset, the input and the key; an input whose asset is defined but not
selected is loaded through its I/O manager.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.cli.listing import asset_rows
from kubedag.code_server.snapshot import build_snapshot

RAW = dg.AssetKey("raw_clickstream")
PROCESSED = dg.AssetKey("processed")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.Instance]:
    with dg.Instance.ephemeral(str(tmp_path / "kubedag_home")) as ephemeral:
        yield ephemeral


def _processed(dep: Any) -> dg.AssetsDefinition:
    @dg.asset(name="processed", deps=[dep])
    def compute() -> int:
        return 1

    return compute


@pytest.mark.parametrize(
    "dep",
    [dg.AssetSpec("raw_clickstream"), "raw_clickstream", dg.AssetDep("raw_clickstream"), RAW],
    ids=["spec", "string", "asset_dep", "asset_key"],
)
def test_materialize_runs_an_asset_whose_dep_is_defined_nowhere(
    dep: Any, instance: dg.Instance
) -> None:
    result = dg.materialize([_processed(dep)], instance=instance)

    assert result.success
    assert [e.step_key for e in result.get_step_success_events()] == ["processed"]
    assert [e.materialization.asset_key for e in result.get_asset_materialization_events()] == [
        PROCESSED
    ]
    graph = result.job_def.asset_graph
    assert graph.parents[PROCESSED] == (RAW,)
    assert graph.children[RAW] == [PROCESSED]
    assert graph.external_keys == {RAW}
    assert graph.materializable_keys == {PROCESSED}


def test_definitions_list_an_undefined_dep_as_an_external_asset() -> None:
    processed = _processed("raw_clickstream")

    @dg.asset(deps=[processed])
    def report() -> None: ...

    upstream_job = dg.define_asset_job("upstream_job", dg.AssetSelection.assets(report).upstream())
    defs = dg.Definitions(assets=[processed, report], jobs=[upstream_job])
    graph = defs.asset_graph

    assert graph.toposorted_keys == [RAW, PROCESSED, dg.AssetKey("report")]
    assert defs.get_implicit_global_asset_job_def().step_keys == ["processed", "report"]
    assert defs.get_job_def("upstream_job").step_keys == ["processed", "report"]
    assert dg.AssetSelection.all().resolve(graph).asset_keys == {PROCESSED, dg.AssetKey("report")}
    assert RAW in dg.AssetSelection.all(include_sources=True).resolve(graph).asset_keys
    assert dg.AssetSelection.assets(processed).upstream().resolve(graph).asset_keys == {PROCESSED}

    snapshot = {a.key: a for a in build_snapshot(defs, "here").assets}
    assert snapshot["raw_clickstream"].is_external
    assert not snapshot["processed"].is_external
    assert snapshot["processed"].deps == ["raw_clickstream"]
    listed = {row[0]: row for row in asset_rows(defs)}
    assert listed["raw_clickstream"][3] == "external"
    assert listed["processed"][2] == "deps: raw_clickstream"


def test_an_undefined_dep_of_one_spec_of_a_multi_asset_is_external(
    instance: dg.Instance,
) -> None:
    @dg.multi_asset(specs=[dg.AssetSpec("first", deps=["vendor_feed"]), dg.AssetSpec("second")])
    def both() -> None: ...

    result = dg.materialize([both], instance=instance)

    assert result.success
    graph = result.job_def.asset_graph
    assert graph.parents[dg.AssetKey("first")] == (dg.AssetKey("vendor_feed"),)
    assert graph.external_keys == {dg.AssetKey("vendor_feed")}


def test_a_selection_of_an_undefined_dep_is_refused_as_in_the_reference() -> None:
    processed = _processed("raw_clickstream")
    job = dg.define_asset_job(
        "from_raw", selection=dg.AssetSelection.keys("raw_clickstream").downstream()
    )

    with pytest.raises(dg.InvalidSelectionError) as raised:
        dg.Definitions(assets=[processed], jobs=[job])
    assert "asset job 'from_raw'" in str(raised.value)
    assert "external asset(s) 'raw_clickstream'" in str(raised.value)
    with pytest.raises(dg.InvalidSelectionError, match="asset job 'from_raw'"):
        dg.Definitions(assets=[processed, dg.AssetSpec("raw_clickstream")], jobs=[job])
    with pytest.raises(dg.InvalidSelectionError, match="'raw_clickstream'"):
        dg.materialize([processed], selection="raw_clickstream")
    without_raw = dg.define_asset_job(
        "after_raw",
        selection=dg.AssetSelection.keys("raw_clickstream").downstream(include_self=False),
    )
    defs = dg.Definitions(assets=[processed], jobs=[without_raw])
    assert defs.get_job_def("after_raw").step_keys == ["processed"]


def _cleaned_by_parameter() -> dg.AssetsDefinition:
    @dg.asset
    def cleaned(raw_clickstream: list[int]) -> list[int]:
        return raw_clickstream

    return cleaned


def _cleaned_by_ins() -> dg.AssetsDefinition:
    @dg.asset(name="cleaned", ins={"rows": dg.AssetIn("raw_clickstream")})
    def compute(rows: list[int]) -> list[int]:
        return rows

    return compute


def _cleaned_by_kwargs() -> dg.AssetsDefinition:
    return dg.asset(name="cleaned", ins={"rows": dg.AssetIn("raw_clickstream")})(
        lambda **inputs: inputs["rows"]
    )


@pytest.mark.parametrize(
    ("build", "input_name"),
    [
        (_cleaned_by_parameter, "raw_clickstream"),
        (_cleaned_by_ins, "rows"),
        (_cleaned_by_kwargs, "rows"),
    ],
    ids=["parameter", "ins", "kwargs"],
)
def test_an_input_from_an_undefined_asset_is_an_error_before_any_run(
    build: Any, input_name: str, instance: dg.Instance
) -> None:
    with pytest.raises(dg.UnknownDependencyError) as raised:
        dg.materialize([build()], instance=instance)
    message = str(raised.value)
    assert f"'cleaned' loads input '{input_name}' from asset 'raw_clickstream'" in message
    assert "dg.AssetSpec('raw_clickstream')" in message
    assert instance.get_runs() == []
    with pytest.raises(dg.UnknownDependencyError, match="'raw_clickstream'"):
        dg.Definitions(assets=[build()])


@dg.asset
def upstream() -> int:
    return 41


@dg.asset
def downstream(upstream: int) -> int:
    return upstream + 1


def test_an_unselected_upstream_is_loaded_through_its_io_manager(instance: dg.Instance) -> None:
    before = dg.materialize(
        [upstream, downstream], selection=[downstream], instance=instance, raise_on_error=False
    )
    assert not before.success
    failure = before.get_step_failure_events()[0].step_failure_data.error
    assert "loading input 'upstream'" in failure.message
    assert "No stored value for asset 'upstream'" in failure.message

    assert dg.materialize([upstream], instance=instance).success
    after = dg.materialize([upstream, downstream], selection=[downstream], instance=instance)

    assert after.success
    assert [e.step_key for e in after.get_step_success_events()] == ["downstream"]
    assert after.output_for_node("downstream") == 42


def test_an_input_from_a_declared_spec_is_loaded_through_its_io_manager(
    instance: dg.Instance,
) -> None:
    assert dg.materialize([upstream], instance=instance).success

    result = dg.materialize([dg.AssetSpec("upstream"), downstream], instance=instance)

    assert result.success
    assert result.output_for_node("downstream") == 42
