"""Definition mistakes are caught before anything runs, with the culprit named."""

import pytest

import kubedag as dg


def _no_runs_started(instance: dg.Instance) -> None:
    assert instance.get_runs() == []


@pytest.mark.parametrize("raise_on_error", [True, False])
def test_duplicate_asset_keys_are_rejected(raise_on_error: bool) -> None:
    @dg.asset(name="orders")
    def first() -> int:
        return 1

    @dg.asset(name="orders")
    def second() -> int:
        return 2

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.DuplicateAssetKeyError, match="'orders' is defined twice"):
        dg.materialize([first, second], instance=instance, raise_on_error=raise_on_error)
    _no_runs_started(instance)


def test_external_spec_colliding_with_computed_asset_is_rejected() -> None:
    @dg.asset
    def orders() -> int:
        return 1

    with pytest.raises(dg.DuplicateAssetKeyError, match="external"):
        dg.Definitions(assets=[orders, dg.AssetSpec("orders")])


@pytest.mark.parametrize("raise_on_error", [True, False])
def test_unknown_input_names_the_asset_the_input_and_the_fix(raise_on_error: bool) -> None:
    @dg.asset(ins={"table": dg.AssetIn("upstream_table")})
    def downstream(table: int) -> None: ...

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.UnknownDependencyError) as raised:
        dg.materialize([downstream], instance=instance, raise_on_error=raise_on_error)
    message = str(raised.value)
    assert "'downstream' loads input 'table' from asset 'upstream_table'" in message
    assert "dg.AssetSpec('upstream_table')" in message
    _no_runs_started(instance)


def test_unknown_data_dependency_is_rejected() -> None:
    @dg.asset
    def cleaned(raw: list[int]) -> list[int]:
        return raw

    with pytest.raises(dg.UnknownDependencyError, match="'raw'"):
        dg.Definitions(assets=[cleaned])


def test_external_asset_satisfies_a_dependency() -> None:
    @dg.asset(deps=[dg.AssetSpec("raw_clickstream")])
    def processed() -> int:
        return 1

    defs = dg.Definitions(assets=[dg.AssetSpec("raw_clickstream"), processed])
    assert defs.get_implicit_global_asset_job_def().step_keys == ["processed"]


def test_cycles_are_reported_with_the_path() -> None:
    @dg.asset(deps=["c"])
    def a() -> None: ...

    @dg.asset(deps=[a])
    def b() -> None: ...

    @dg.asset(deps=[b])
    def c() -> None: ...

    with pytest.raises(dg.DependencyCycleError) as raised:
        dg.materialize([a, b, c])
    message = str(raised.value)
    assert "cycle" in message
    for name in ("a", "b", "c"):
        assert name in message


def test_check_on_unknown_asset_is_rejected() -> None:
    @dg.asset_check(asset="nowhere")
    def check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(dg.UnknownDependencyError, match="nowhere"):
        dg.Definitions(asset_checks=[check])


class Warehouse(dg.ConfigurableResource):
    url: str


@pytest.mark.parametrize("raise_on_error", [True, False])
def test_missing_resource_names_the_key_and_the_asset(raise_on_error: bool) -> None:
    @dg.asset
    def loaded(warehouse: Warehouse) -> str:
        return warehouse.url

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.MissingResourceError) as raised:
        dg.materialize([loaded], instance=instance, raise_on_error=raise_on_error)
    message = str(raised.value)
    assert "asset 'loaded'" in message
    assert "resource 'warehouse'" in message
    _no_runs_started(instance)


def test_missing_resource_is_caught_when_definitions_load() -> None:
    @dg.asset(required_resource_keys={"slack"})
    def notify() -> None: ...

    with pytest.raises(dg.MissingResourceError, match="'slack'"):
        dg.Definitions(assets=[notify])


class Threshold(dg.Config):
    minimum: int
    label: str = "rows"


@pytest.mark.parametrize("raise_on_error", [True, False])
def test_bad_run_config_names_the_field_before_any_step(raise_on_error: bool) -> None:
    ran: list[str] = []

    @dg.asset
    def first() -> None:
        ran.append("first")

    @dg.asset(deps=[first])
    def gated(config: Threshold) -> int:
        ran.append("gated")
        return config.minimum

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.InvalidConfigError) as raised:
        dg.materialize(
            [first, gated],
            instance=instance,
            raise_on_error=raise_on_error,
            run_config={"ops": {"gated": {"config": {"minimum": "many"}}}},
        )
    assert "ops.gated.config.minimum" in str(raised.value)
    assert ran == []
    _no_runs_started(instance)


def test_missing_required_config_names_the_field() -> None:
    @dg.asset
    def gated(config: Threshold) -> int:
        return config.minimum

    with pytest.raises(dg.InvalidConfigError, match=r"ops\.gated\.config\.minimum: required"):
        dg.materialize([gated])


def test_unknown_op_in_run_config_lists_known_ones() -> None:
    @dg.asset
    def only() -> int:
        return 1

    with pytest.raises(dg.InvalidConfigError, match=r"ops\.typo: .*Known: only"):
        dg.materialize([only], run_config={"ops": {"typo": {"config": {}}}})


def test_unknown_top_level_section_is_rejected() -> None:
    @dg.asset
    def only() -> int:
        return 1

    with pytest.raises(dg.InvalidConfigError, match=r"run_config\.solidz"):
        dg.materialize([only], run_config={"solidz": {}})


def test_config_for_an_op_without_config_is_rejected() -> None:
    @dg.asset
    def plain() -> int:
        return 1

    with pytest.raises(dg.InvalidConfigError, match="takes no config"):
        dg.materialize([plain], run_config={"ops": {"plain": {"config": {"x": 1}}}})


def test_bad_log_level_is_rejected() -> None:
    @dg.asset
    def plain() -> int:
        return 1

    with pytest.raises(dg.InvalidConfigError, match="log_level"):
        dg.materialize(
            [plain], run_config={"loggers": {"console": {"config": {"log_level": "LOUD"}}}}
        )


def test_partition_key_is_validated_before_the_run() -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu"])

    @dg.asset(partitions_def=regions)
    def sales(context: dg.AssetExecutionContext) -> str:
        return context.partition_key

    instance = dg.Instance.ephemeral()
    with pytest.raises(dg.InvalidConfigError, match="'jp' is not a partition"):
        dg.materialize([sales], partition_key="jp", instance=instance)
    with pytest.raises(dg.InvalidConfigError, match="pass partition_key"):
        dg.materialize([sales], instance=instance)
    _no_runs_started(instance)
    assert dg.materialize([sales], partition_key="eu").output_for_node("sales") == "eu"


def test_invalid_owner_is_rejected() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="owner 'bob'"):

        @dg.asset(owners=["bob"])
        def owned() -> None: ...


def test_asset_check_result_requires_a_real_bool() -> None:
    with pytest.raises(TypeError, match="bool"):
        dg.AssetCheckResult(passed=1)  # type: ignore[arg-type]


def test_job_with_unknown_name_lists_jobs() -> None:
    @dg.asset
    def a() -> int:
        return 1

    defs = dg.Definitions(assets=[a], jobs=[dg.define_asset_job("all_assets")])
    with pytest.raises(dg.InvalidDefinitionError, match="Jobs: all_assets"):
        defs.get_job_def("nope")
