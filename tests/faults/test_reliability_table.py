"""docs/reliability.md is the fault-matrix tests, one row a test: it cannot fall behind them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.reliability_table import PAGE, TableError, collect_rows, render


def test_the_reliability_page_is_generated_from_the_tests() -> None:
    expected = render(collect_rows())
    assert PAGE.read_text() == expected, (
        "docs/reliability.md is out of date: run `python -m tests.faults.reliability_table`"
    )


def test_every_row_names_its_fault_and_outcome() -> None:
    rows = collect_rows()
    assert {row.kind for row in rows} == {"fault", "bad input"}
    assert len({row.test for row in rows}) == len(rows)


def test_a_test_without_a_row_shape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text('def test_fault_x():\n    """only one line"""\n')
    with pytest.raises(TableError, match=r"test_x.py::test_fault_x: the docstring needs"):
        collect_rows(tmp_path)
    (tmp_path / "test_x.py").write_text("def test_something():\n    pass\n")
    with pytest.raises(TableError, match="named test_fault_"):
        collect_rows(tmp_path)
