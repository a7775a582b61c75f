"""Code references: `with_source_code_references` records where each asset's function is,
`link_code_references_to_git` turns those into links to the same lines in a repository (the
URLs and line numbers were checked against the reference, dagster 1.13.29)."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubedag as dg

HERE = Path(__file__).resolve()
KEY = "dagster/code_references"


@dg.asset
def orders() -> int:
    return 1


def _line_of(text: str) -> int:
    """The line (1-based) where `text` starts in this file."""
    return HERE.read_text().split(text)[0].count("\n") + 1


# A function's line is its first decorator's, as the reference counts it.
ORDERS_LINE = _line_of("@dg.asset\ndef orders")

EARLIER = dg.UrlCodeReference(url="https://wiki.example/orders", label="wiki")


@dg.multi_asset(specs=[dg.AssetSpec("left"), dg.AssetSpec("right", metadata={KEY: dg.CodeReferencesMetadataValue(code_references=[EARLIER])})])  # fmt: skip
def sides() -> None:
    pass


SIDES_LINE = _line_of('@dg.multi_asset(specs=[dg.AssetSpec("left")')


def _references(assets: list[object]) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for item in assets:
        specs = [item] if isinstance(item, dg.AssetSpec) else list(item.specs)  # type: ignore[attr-defined]
        for spec in specs:
            value = spec.metadata.get(KEY)
            found[spec.key.to_user_string()] = list(value.code_references) if value else []
    return found


def test_source_references_point_at_each_function() -> None:
    external = dg.AssetSpec("external")
    with_refs = dg.with_source_code_references([orders, sides, external])
    assert _references(with_refs) == {
        "orders": [dg.LocalFileCodeReference(file_path=str(HERE), line_number=ORDERS_LINE)],
        "left": [dg.LocalFileCodeReference(file_path=str(HERE), line_number=SIDES_LINE)],
        "right": [EARLIER, dg.LocalFileCodeReference(file_path=str(HERE), line_number=SIDES_LINE)],
        "external": [],
    }
    assert with_refs[2] is external
    assert KEY not in orders.get_asset_spec().metadata  # the given definitions are unchanged
    reference = _references(with_refs)["orders"][0]
    assert reference.source == f"{HERE}:{ORDERS_LINE}"  # type: ignore[attr-defined]


def test_local_references_become_links_to_github_and_gitlab() -> None:
    local = dg.with_source_code_references([orders, sides])
    mapping = dg.AnchorBasedFilePathMapping(
        local_file_anchor=HERE.parent, file_anchor_path_in_repository="tests/parity"
    )
    on_github = dg.link_code_references_to_git(
        local,
        git_url="https://github.com/acme/pipelines",
        git_branch="main",
        file_path_mapping=mapping,
    )
    file_url = "https://github.com/acme/pipelines/tree/main/tests/parity/" + HERE.name
    assert _references(on_github) == {
        "orders": [dg.UrlCodeReference(url=f"{file_url}#L{ORDERS_LINE}")],
        "left": [dg.UrlCodeReference(url=f"{file_url}#L{SIDES_LINE}")],
        "right": [EARLIER, dg.UrlCodeReference(url=f"{file_url}#L{SIDES_LINE}")],
    }
    on_gitlab = dg.link_code_references_to_git(
        local,
        git_url="https://gitlab.com/acme/pipelines",
        git_branch="dev",
        file_path_mapping=dg.AnchorBasedFilePathMapping(
            local_file_anchor=HERE, file_anchor_path_in_repository=f"src/{HERE.name}"
        ),
    )
    assert _references(on_gitlab)["orders"] == [
        dg.UrlCodeReference(
            url=f"https://gitlab.com/acme/pipelines/-/tree/dev/src/{HERE.name}#L{ORDERS_LINE}"
        )
    ]
    with pytest.raises(ValueError, match="platform="):
        dg.link_code_references_to_git(
            local, git_url="https://git.example/x", git_branch="main", file_path_mapping=mapping
        )


def test_anchor_mapping_and_a_mapping_of_ones_own() -> None:
    mapping = dg.AnchorBasedFilePathMapping(
        local_file_anchor=Path("/home/me/repo/src"), file_anchor_path_in_repository="src"
    )
    assert mapping.convert_to_source_control_path(Path("/home/me/repo/src/a/b.py")) == "src/a/b.py"
    assert mapping.convert_to_source_control_path(Path("/home/me/repo/docs/x.md")) == "docs/x.md"
    with pytest.raises(TypeError):
        dg.FilePathMapping()  # type: ignore[abstract]

    class Flat(dg.FilePathMapping):
        def convert_to_source_control_path(self, local_path: Path) -> str:
            return f"code/{local_path.name}"

    [linked] = dg.link_code_references_to_git(
        dg.with_source_code_references([orders]),
        git_url="https://github.com/acme/x",
        git_branch="b",
        file_path_mapping=Flat(),
    )
    assert _references([linked])["orders"] == [
        dg.UrlCodeReference(url=f"https://github.com/acme/x/tree/b/code/{HERE.name}#L{ORDERS_LINE}")
    ]


def test_code_references_reach_the_materialization_readably() -> None:
    [with_refs] = dg.with_source_code_references([orders])
    spec_refs = with_refs.get_asset_spec().metadata[KEY]  # type: ignore[attr-defined]
    assert isinstance(spec_refs, dg.CodeReferencesMetadataValue)
    assert spec_refs.value is spec_refs
    assert dg.materialize([with_refs]).success
