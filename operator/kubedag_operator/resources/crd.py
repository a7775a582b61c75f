"""Generate the CustomResourceDefinitions in `crds/` and the Helm chart's `crds/` from the
pydantic models.

    python -m kubedag_operator.resources.crd            # write crds/ and helm/kubedag/crds/
    python -m kubedag_operator.resources.crd --check    # exit 1 if either differs
    python -m kubedag_operator.resources.crd --directory DIR [--check]   # one folder only

Both folders get the same bytes: `kubectl apply -f crds/` and `helm install` install the same
CRDs, and a test fails when either drifts from the models.

The models are the single source: pydantic writes each one's JSON schema, and this module turns
it into the *structural* OpenAPI v3 schema the API server requires:

- `$ref`s are inlined (a field's own docstring wins over its type's);
- optional fields (`X | None`) become `X`, not required;
- `dict[str, Any]` fields (run config, affinity) become `x-kubernetes-preserve-unknown-fields`;
- `additionalProperties: false` is dropped (the API server prunes unknown fields instead);
- titles, `None` defaults and container defaults are dropped; scalar defaults are kept and
  applied by the API server;
- model and field `json_schema_extra` carry the CEL rules (`x-kubernetes-validations`).

Output is deterministic: the same models always give the same bytes.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
from pathlib import Path
from typing import Any

import yaml

from kubedag_operator.resources import ALL_RESOURCES
from kubedag_operator.resources.common import (
    CATEGORY,
    GROUP,
    PRESERVE_UNKNOWN,
    VERSION,
    CustomResource,
)

REGENERATE_COMMAND = "python -m kubedag_operator.resources.crd"
HEADER = f"# Generated from operator/kubedag_operator/resources by `{REGENERATE_COMMAND}`.\n# Do not edit: change the models and regenerate.\n"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIRECTORY = REPO_ROOT / "crds"
CHART_DIRECTORY = REPO_ROOT / "helm" / "kubedag" / "crds"
GENERATED_DIRECTORIES = (DEFAULT_DIRECTORY, CHART_DIRECTORY)

_DROPPED_KEYS = {"title", "$defs"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**copy.deepcopy(target), **node}
    # `X | None` → X
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if branches and any(b == {"type": "null"} for b in branches):
            rest = [b for b in branches if b != {"type": "null"}]
            del node[key]
            if node.get("default", 0) is None:
                del node["default"]
            if len(rest) == 1:
                node = {**_resolve(rest[0], defs), **node}
            else:
                node[key] = rest
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {name: _resolve(prop, defs) for name, prop in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "not"):
            out[key] = _resolve(value, defs)
        else:
            out[key] = value
    return _to_structural(out)


def _to_structural(node: dict[str, Any]) -> dict[str, Any]:
    if isinstance(node.get("description"), str):
        node["description"] = " ".join(node["description"].split())  # docstrings wrap lines
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(node.get(exclusive), int | float) and not isinstance(node[exclusive], bool):
            node[bound], node[exclusive] = node[exclusive], True  # OpenAPI 3.0's form
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "properties" in node and node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("additionalProperties") is True or node.get("additionalProperties") == {}:
        del node["additionalProperties"]
        node[PRESERVE_UNKNOWN] = True
    if "default" in node and (node["default"] is None or isinstance(node["default"], dict | list)):
        del node["default"]
    if "properties" in node or PRESERVE_UNKNOWN in node:
        node.setdefault("type", "object")
    if "required" in node:
        node["required"] = sorted(node["required"])
    # Put the most useful keys first so the YAML reads well; the rest keeps pydantic's order.
    first = [k for k in ("description", "type") if k in node]
    return {**{k: node[k] for k in first}, **{k: v for k, v in node.items() if k not in first}}


def _without_defaults(node: Any) -> Any:
    """Status is written by the operator only: the API server must not invent values there."""
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def openapi_schema(resource: type[CustomResource]) -> dict[str, Any]:
    """The structural `openAPIV3Schema` of one resource."""
    schema = resource.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    properties = schema["properties"]
    spec = _resolve(properties["spec"], defs)
    status = _without_defaults(_resolve(properties["status"], defs))
    return {
        "description": " ".join((resource.__doc__ or "").split()),
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this object: `kubedag.io/v1alpha1`.",
                "type": "string",
            },
            "kind": {
                "description": f"The kind of this object: `{resource.kind_name}`.",
                "type": "string",
            },
            "metadata": {
                "description": "Standard object metadata: name, namespace, labels, annotations.",
                "type": "object",
            },
            "spec": spec,
            "status": status,
        },
    }


def crd_for(resource: type[CustomResource]) -> dict[str, Any]:
    """The whole CustomResourceDefinition of one resource."""
    kind = resource.kind_name
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": resource.crd_name(),
            "labels": {"app.kubernetes.io/part-of": "kubedag"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": resource.plural,
                "singular": kind.lower(),
                "shortNames": list(resource.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_crd() for c in resource.printer_columns],
                    "schema": {"openAPIV3Schema": openapi_schema(resource)},
                }
            ],
        },
    }


def render_crds() -> dict[str, str]:
    """File name → YAML text of every CRD, in a stable order."""
    return dict(_rendered())


@functools.cache
def _rendered() -> tuple[tuple[str, str], ...]:
    # The models do not change while the process runs; rendering takes a few tenths of a second.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    rendered = []
    for resource in ALL_RESOURCES:
        text = yaml.dump(
            crd_for(resource), Dumper=dumper, sort_keys=False, width=100, allow_unicode=True
        )
        rendered.append((f"{resource.crd_name()}.yaml", HEADER + text))
    return tuple(rendered)


def write_crds(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    """Write every CRD into `directory`; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_crds().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def drifted_files(directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    """Files of `directory` that differ from (or are missing compared to) the models."""
    drifted = []
    for name, text in render_crds().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            drifted.append(name)
    return drifted


def unexpected_files(directory: Path) -> list[str]:
    """YAML files of `directory` that the models do not generate (a removed or renamed CRD
    left behind)."""
    expected = set(render_crds())
    return sorted(p.name for p in directory.glob("*.yaml") if p.name not in expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--directory",
        type=Path,
        default=None,
        help="write or check only this folder (default: crds/ and helm/kubedag/crds/)",
    )
    parser.add_argument("--check", action="store_true", help="fail if the files differ")
    args = parser.parse_args(argv)
    directories = (args.directory,) if args.directory else GENERATED_DIRECTORIES
    if args.check:
        failed = False
        for directory in directories:
            for name in drifted_files(directory):
                print(f"{directory / name} is out of date; run `{REGENERATE_COMMAND}`")
                failed = True
            for name in unexpected_files(directory):
                print(f"{directory / name} is not generated by the models; delete it")
                failed = True
        return 1 if failed else 0
    for directory in directories:
        for path in write_crds(directory):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
