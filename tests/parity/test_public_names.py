"""Every public name of the reference (dagster 1.13.29, `public_names.txt`) imports from kubedag,
except those still listed in `missing/<area>.txt`: a ratchet. Each parity area removes its names
from its own list as it lands them, and this test fails both ways: when a listed name has
appeared (take it off the list) and when a name not listed is absent (it was lost).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

import kubedag as dg

HERE = Path(__file__).parent


def _names(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


PUBLIC = _names(HERE / "public_names.txt")
MISSING = {path.stem: _names(path) for path in sorted((HERE / "missing").glob("*.txt"))}
STILL_MISSING = {name for names in MISSING.values() for name in names}


def _offered(name: str) -> bool:
    """Whether kubedag offers `name` itself; a subpackage of the same name (`kubedag.resources`)
    is an attribute once imported, but it is not the reference's object. (`dagster.importlib`
    is the standard library's module, so ours is too.)"""
    value = getattr(dg, name, None)
    if name == "importlib":
        return value is importlib
    return not isinstance(value, ModuleType | type(None))


def test_the_lists_are_consistent() -> None:
    assert len(PUBLIC) == len(set(PUBLIC)) == 434
    listed = [name for names in MISSING.values() for name in names]
    assert len(listed) == len(set(listed)), "a name is listed as missing by two areas"
    assert set(listed) <= set(PUBLIC), set(listed) - set(PUBLIC)


@pytest.mark.parametrize("name", sorted(set(PUBLIC) - STILL_MISSING))
def test_a_landed_name_imports(name: str) -> None:
    assert _offered(name), f"kubedag.{name} is missing or is a subpackage"
    assert name in dir(dg)


@pytest.mark.parametrize("area", sorted(MISSING))
def test_a_name_listed_as_missing_is_missing(area: str) -> None:
    present = [name for name in MISSING[area] if _offered(name)]
    assert not present, f"take these off tests/parity/missing/{area}.txt: {present}"
