"""docs/reliability.md, generated from the fault-matrix tests: one row a test, so the page says
exactly what the suite proves. `python -m tests.faults.reliability_table` rewrites the page;
`test_reliability_table.py` fails when the page and the tests disagree.

A test named `test_fault_*` is a row of the fault table, `test_bad_input_*` a row of the
bad-input table; its docstring's first line is the row's left column, the rest its outcome.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

FAULTS_DIR = Path(__file__).resolve().parent
PAGE = FAULTS_DIR.parent.parent / "docs" / "reliability.md"
KINDS = {"test_fault_": "fault", "test_bad_input_": "bad input"}

INTRO = """\
# Reliability: the faults and bad inputs kubedag is tested against

Each row below is a test in `tests/faults/` that runs in `make test`. A fault test injects one
fault into real components — a real PostgreSQL server, the real S3-API server, real run worker,
daemon and operator processes, the Kubernetes-API test server — and asserts the outcome, with
nothing lost and nothing doubled (runs, ticks, events and log lines are counted exactly). A
bad-input test feeds one mistake and asserts the exact error a user sees and that nothing else
changed.

This page is generated from the tests (`python -m tests.faults.reliability_table`); a test fails
when it and the tests disagree.
"""


@dataclass(frozen=True)
class Row:
    kind: str  # "fault" or "bad input"
    what: str
    outcome: str
    test: str  # file::function


class TableError(ValueError):
    """A test of tests/faults/ that cannot be a row: the message names it and the fix."""


def _row(path: Path, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Row | None:
    kind = next((k for prefix, k in KINDS.items() if node.name.startswith(prefix)), None)
    where = f"{path.name}::{node.name}"
    if kind is None:
        if node.name.startswith("test_") and path.name != "test_reliability_table.py":
            raise TableError(
                f"{where}: a test in tests/faults/ is named test_fault_* or test_bad_input_*"
            )
        return None
    doc = ast.get_docstring(node) or ""
    head, _, rest = doc.partition("\n\n")
    what, outcome = " ".join(head.split()), " ".join(rest.split())
    if not what or not outcome:
        raise TableError(
            f"{where}: the docstring needs a first line (the {kind}), a blank line, then the "
            "expected outcome"
        )
    return Row(kind, what, outcome, where)


def collect_rows(directory: Path = FAULTS_DIR) -> list[Row]:
    """Every row, in file order then definition order."""
    rows: list[Row] = []
    for path in sorted(directory.glob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                row = _row(path, node)
                if row is not None:
                    rows.append(row)
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(rows: list[Row]) -> str:
    """The whole page."""
    parts = [INTRO]
    for kind, title, column in (
        ("fault", "Faults", "fault injected"),
        ("bad input", "Bad inputs", "bad input"),
    ):
        chosen = [row for row in rows if row.kind == kind]
        parts.append(
            f"\n## {title} ({len(chosen)})\n\n| {column} | outcome | test |\n|---|---|---|\n"
        )
        parts.extend(
            f"| {_cell(row.what)} | {_cell(row.outcome)} | `{row.test}` |\n" for row in chosen
        )
    return "".join(parts)


def main() -> int:
    PAGE.write_text(render(collect_rows()))
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
