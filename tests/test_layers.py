"""Every import of `runtime/kubedag` points down the layers of docs/architecture.md.

The imports are read with `ast` — module-level, function-level and `TYPE_CHECKING` ones alike,
since each ties the importer to what it imports — and each is ranked by the package it reaches.
An import of a higher layer fails this test: where a lower layer needs something from above at
run time, it defines a protocol or takes a parameter (`RunHost` in `runs/launchers/base.py`, `definitions/engine.py`).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "runtime" / "kubedag"

# Bottom first. Packages on one line share a layer and may import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "version", "names", "interrupts", "feature_warnings"),  # names: name -> module dicts
    ("config",),
    ("clock",),  # cron, time zones, tick arithmetic: pure
    ("definitions",),
    ("records",),  # Run, RunStatus, transitions, events, InstanceRef: what storage keeps
    ("resources", "code_location", "manifests"),
    ("storage", "compute_logs"),
    ("execution",),
    ("runs",),
    ("backfills",),
    ("instance",),
    ("automation",),
    ("daemon", "code_server"),
    ("cli",),
    ("kubedag", "__main__"),  # the package's face: `import kubedag as dg`
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = ["kubedag", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "kubedag"


def imported_modules(path: Path, module: str) -> set[str]:
    """Every `kubedag` module `path` imports, at any depth of its code."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "kubedag")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importer's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] == "kubedag":
                found.add(target)
    return found


def upward_imports() -> set[str]:
    upward = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.relative_to(PACKAGE).parts:
            continue  # alembic scripts, loaded by alembic only
        module = module_name(path)
        mine = layer_of(module)
        assert mine in RANK, f"{path}: package {mine!r} has no layer in LAYERS; add it"
        for target in imported_modules(path, module):
            theirs = layer_of(target)
            assert theirs in RANK, f"{module} imports {target}: no layer for {theirs!r}"
            if RANK[theirs] > RANK[mine]:
                upward.add(f"{module} -> {target}")
    return upward


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(upward_imports())
    assert not upward, (
        "these imports reach up a layer (see LAYERS and docs/architecture.md): pass what is "
        "needed in (a parameter, a protocol of the lower layer) instead:\n  " + "\n  ".join(upward)
    )


def test_the_reader_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "kubedag" / "storage" / "thing.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from . import records\n"
        "def f():\n"
        "    from kubedag.instance.instance import Instance\n"
        "    import kubedag.records.run\n"
    )
    found = imported_modules(source, "kubedag.storage.thing")
    assert found == {"kubedag.storage", "kubedag.instance.instance", "kubedag.records.run"}
