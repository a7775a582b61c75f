"""Loading a code location: by file or module, choosing the Definitions, and clear errors."""

from __future__ import annotations

import sys
import textwrap
import traceback
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.code_location import load_definitions
from kubedag.code_location.load import find_definitions, module_name_for_file
from kubedag.errors import CodeLocationLoadError, KubedagError

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "definitions.py"


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def asset_names(defs: dg.Definitions) -> set[str]:
    return {key.to_user_string() for key in defs.asset_graph.materializable_keys}


ONE_ASSET = textwrap.dedent(
    """
    import kubedag as dg

    @dg.asset
    def {name}() -> int:
        return 1

    defs = dg.Definitions(assets=[{name}])
    """
)


def test_a_file_loads_with_its_folder_importable(tmp_path: Path) -> None:
    write(tmp_path / "project" / "helpers.py", "ROWS = [1, 2, 3]\n")
    file = write(
        tmp_path / "project" / "definitions.py",
        """
        import kubedag as dg
        from helpers import ROWS

        @dg.asset
        def rows() -> list[int]:
            return ROWS

        defs = dg.Definitions(assets=[rows])
        """,
    )
    defs = load_definitions(python_file=str(file))
    assert isinstance(defs, dg.Definitions)
    assert asset_names(defs) == {"rows"}
    result = dg.materialize(defs.assets)
    assert result.output_for_node("rows") == [1, 2, 3]


def test_the_quickstart_loads_by_path() -> None:
    defs = load_definitions(python_file=str(QUICKSTART))
    assert asset_names(defs) == {"raw_orders", "cleaned_orders", "daily_summary"}


def test_files_with_the_same_name_in_two_folders_do_not_clash(tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "definitions.py", ONE_ASSET.format(name="alpha"))
    second = write(tmp_path / "b" / "definitions.py", ONE_ASSET.format(name="beta"))
    assert module_name_for_file(first) != module_name_for_file(second)
    assert asset_names(load_definitions(python_file=str(first))) == {"alpha"}
    assert asset_names(load_definitions(python_file=str(second))) == {"beta"}


def test_a_file_keeps_one_module_name_across_loads(tmp_path: Path) -> None:
    file = write(tmp_path / "definitions.py", ONE_ASSET.format(name="alpha"))
    name = module_name_for_file(file)
    assert name == module_name_for_file(tmp_path / "." / "definitions.py")
    assert name.isidentifier()
    load_definitions(python_file=str(file))
    assert sys.modules[name].__file__ == str(file.resolve())


def test_a_module_loads_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "shop_pipeline" / "__init__.py", "")
    write(tmp_path / "shop_pipeline" / "definitions.py", ONE_ASSET.format(name="orders"))
    monkeypatch.syspath_prepend(str(tmp_path))
    defs = load_definitions(module_name="shop_pipeline.definitions")
    assert asset_names(defs) == {"orders"}


def test_attribute_picks_one_of_several(tmp_path: Path) -> None:
    file = write(
        tmp_path / "two.py",
        """
        import kubedag as dg

        @dg.asset
        def small() -> int:
            return 1

        @dg.asset
        def large() -> int:
            return 2

        dev = dg.Definitions(assets=[small])
        prod = dg.Definitions(assets=[small, large])
        """,
    )
    assert asset_names(load_definitions(python_file=str(file), attribute="prod")) == {
        "small",
        "large",
    }
    assert asset_names(load_definitions(python_file=str(file), attribute="dev")) == {"small"}


def test_several_definitions_without_attribute_are_listed(tmp_path: Path) -> None:
    file = write(
        tmp_path / "two.py",
        """
        import kubedag as dg
        dev = dg.Definitions()
        prod = dg.Definitions()
        """,
    )
    with pytest.raises(CodeLocationLoadError) as caught:
        load_definitions(python_file=str(file))
    message = str(caught.value)
    assert "dev, prod" in message
    assert str(file) in message
    assert "attribute" in message


def test_one_definitions_bound_to_two_names_is_not_ambiguous(tmp_path: Path) -> None:
    file = write(
        tmp_path / "alias.py",
        ONE_ASSET.format(name="alpha") + "definitions = defs\n",
    )
    assert asset_names(load_definitions(python_file=str(file))) == {"alpha"}


def test_no_definitions_says_how_to_add_one(tmp_path: Path) -> None:
    file = write(tmp_path / "empty.py", "import kubedag as dg\nx = 1\n")
    with pytest.raises(CodeLocationLoadError, match=r"defines no dg\.Definitions") as caught:
        load_definitions(python_file=str(file))
    assert "defs = dg.Definitions(" in str(caught.value)
    assert str(file) in str(caught.value)


def test_unknown_or_wrong_attribute_lists_what_was_found(tmp_path: Path) -> None:
    file = write(tmp_path / "defs.py", ONE_ASSET.format(name="alpha") + "number = 3\n")
    with pytest.raises(CodeLocationLoadError, match=r"no attribute 'prod'.*found there: defs"):
        load_definitions(python_file=str(file), attribute="prod")
    with pytest.raises(
        CodeLocationLoadError, match=r"'number' .* is of type int, not a dg\.Definitions"
    ):
        load_definitions(python_file=str(file), attribute="number")


def test_an_exception_while_importing_keeps_the_users_traceback(tmp_path: Path) -> None:
    file = write(
        tmp_path / "broken.py",
        """
        import kubedag as dg

        def read_settings() -> dict[str, str]:
            raise RuntimeError("settings.toml is missing")

        SETTINGS = read_settings()
        """,
    )
    with pytest.raises(CodeLocationLoadError) as caught:
        load_definitions(python_file=str(file))
    error = caught.value
    assert isinstance(error, KubedagError)
    assert isinstance(error.__cause__, RuntimeError)
    assert str(error.__cause__) == "settings.toml is missing"
    assert "RuntimeError: settings.toml is missing" in str(error)
    assert f"{file.resolve()}:5" in str(error)  # where the user's code raised
    frames = [frame.name for frame in traceback.extract_tb(error.__cause__.__traceback__)]
    assert "read_settings" in frames
    # A failed import leaves no half-initialized module behind.
    assert module_name_for_file(file) not in sys.modules


def test_a_definition_error_at_import_names_the_users_line(tmp_path: Path) -> None:
    file = write(
        tmp_path / "dangling.py",
        """
        import kubedag as dg

        @dg.asset
        def orphan(nowhere: int) -> None: ...

        defs = dg.Definitions(assets=[orphan])
        """,
    )
    with pytest.raises(CodeLocationLoadError) as caught:
        load_definitions(python_file=str(file))
    message = str(caught.value)
    assert "UnknownDependencyError" in message and "'nowhere'" in message
    assert f"{file.resolve()}:7" in message
    assert isinstance(caught.value.__cause__, dg.UnknownDependencyError)


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    file = write(tmp_path / "typo.py", "import kubedag as dg\ndef (:\n")
    with pytest.raises(CodeLocationLoadError, match="SyntaxError") as caught:
        load_definitions(python_file=str(file))
    assert f"{file.resolve()}:2" in str(caught.value)
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    with pytest.raises(CodeLocationLoadError, match="does not exist"):
        load_definitions(python_file=str(missing))
    with pytest.raises(CodeLocationLoadError, match="not a file"):
        load_definitions(python_file=str(tmp_path))


def test_a_missing_module_is_told_apart_from_a_failing_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CodeLocationLoadError, match="no module named 'no_such_pipeline'"):
        load_definitions(module_name="no_such_pipeline.definitions")
    write(tmp_path / "needs_pandas_like.py", "import not_an_installed_library\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CodeLocationLoadError, match="importing it raised") as caught:
        load_definitions(module_name="needs_pandas_like")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    assert "not_an_installed_library" in str(caught.value)


def test_exactly_one_location_is_required(tmp_path: Path) -> None:
    with pytest.raises(CodeLocationLoadError, match="exactly one"):
        load_definitions()
    with pytest.raises(CodeLocationLoadError, match="exactly one"):
        load_definitions(python_file=str(tmp_path / "x.py"), module_name="x")


def test_find_definitions_reads_a_plain_namespace() -> None:
    defs = dg.Definitions()
    assert find_definitions({"x": 1, "defs": defs}, attribute=None, origin="module 'm'") is defs
    with pytest.raises(CodeLocationLoadError, match=r"^Module 'm' defines no"):
        find_definitions({"x": 1}, attribute=None, origin="module 'm'")
