"""Reference section "External assets": an `AssetSpec` declares data produced outside kubedag,
so assets can depend on it without kubedag ever materializing it."""

import pytest

import kubedag as dg

raw_clickstream = dg.AssetSpec("raw_clickstream")  # produced by an external system


@dg.asset(deps=[raw_clickstream])
def processed_clickstream():
    # kubedag doesn't materialize raw_clickstream, but knows it's a dependency
    ...


defs = dg.Definitions(assets=[raw_clickstream, processed_clickstream])


def test_dependency_on_the_external_asset_is_recorded() -> None:
    assert [d.asset_key for d in processed_clickstream.specs[0].deps] == [
        dg.AssetKey("raw_clickstream")
    ]
    with pytest.raises(dg.InvalidDefinitionError, match="No asset 'raw_clickstream' is computed"):
        defs.get_assets_def("raw_clickstream")


def test_only_the_computed_asset_is_materialized() -> None:
    job = defs.get_implicit_global_asset_job_def()
    assert job.step_keys == ["processed_clickstream"]

    result = job.execute_in_process()

    assert result.success
    assert [e.materialization.asset_key for e in result.get_asset_materialization_events()] == [
        dg.AssetKey("processed_clickstream")
    ]


def test_materialize_accepts_the_spec_alongside_the_asset(instance: dg.Instance) -> None:
    result = dg.materialize([raw_clickstream, processed_clickstream], instance=instance)

    assert result.success
    assert [e.step_key for e in result.get_step_success_events()] == ["processed_clickstream"]


def test_without_the_spec_the_dependency_is_still_an_external_asset(
    instance: dg.Instance,
) -> None:
    # The reference's example passes only the asset: the spec in deps= is enough.
    graph = dg.Definitions(assets=[processed_clickstream]).asset_graph
    assert graph.parents[dg.AssetKey("processed_clickstream")] == (dg.AssetKey("raw_clickstream"),)
    assert graph.external_keys == {dg.AssetKey("raw_clickstream")}

    result = dg.materialize([processed_clickstream], instance=instance)

    assert result.success
    assert [e.step_key for e in result.get_step_success_events()] == ["processed_clickstream"]


def test_external_asset_cannot_also_be_computed() -> None:
    @dg.asset(name="raw_clickstream")
    def computed_raw_clickstream(): ...

    with pytest.raises(dg.DuplicateAssetKeyError, match="raw_clickstream"):
        dg.Definitions(assets=[raw_clickstream, computed_raw_clickstream])
