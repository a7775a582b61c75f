"""The package face's names: observations, source assets, data versions.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

_OBSERVATIONS = "kubedag.definitions.observations"

NAMES: dict[str, str] = {
    "AssetObservation": _OBSERVATIONS,
    "DataProvenance": _OBSERVATIONS,
    "DataVersion": _OBSERVATIONS,
    "DataVersionsByPartition": _OBSERVATIONS,
    "ObserveResult": _OBSERVATIONS,
    "SourceAsset": _OBSERVATIONS,
    "multi_observable_source_asset": _OBSERVATIONS,
    "observable_source_asset": _OBSERVATIONS,
}
