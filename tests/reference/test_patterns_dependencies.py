"""Reference section "Common patterns", dependencies: `deps=` builds the asset graph and orders
the run, without passing data."""

import kubedag as dg


@dg.asset
def raw_data(): ...


@dg.asset(deps=[raw_data])
def cleaned_data(): ...


@dg.asset(deps=[cleaned_data])
def analytics(): ...


defs = dg.Definitions(assets=[analytics, cleaned_data, raw_data])


def test_deps_form_a_chain() -> None:
    selection = dg.AssetSelection.assets(analytics).upstream()

    assert selection.resolve_keys(defs.asset_graph) == {
        dg.AssetKey("raw_data"),
        dg.AssetKey("cleaned_data"),
        dg.AssetKey("analytics"),
    }
    assert cleaned_data.keys_by_input_name == {}  # ordering only: no data is passed


def test_run_follows_the_dependencies_not_the_listing_order() -> None:
    result = defs.get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    started = [e.step_key for e in result.all_events if e.event_type is dg.EventType.STEP_START]
    assert started == ["raw_data", "cleaned_data", "analytics"]


def test_failure_upstream_skips_what_depends_on_it() -> None:
    @dg.asset(name="raw_data")
    def broken_raw_data():
        raise ConnectionError("source unavailable")

    defs = dg.Definitions(assets=[broken_raw_data, cleaned_data, analytics])

    result = defs.get_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)

    assert not result.success
    assert result.is_node_failed("raw_data")
    assert result.is_node_skipped("cleaned_data")
    assert result.is_node_skipped("analytics")
