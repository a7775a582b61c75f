"""A checker for the rules the API server applies to a CRD's `openAPIV3Schema` (structural
schemas, https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema),
plus our own: every property has a description."""

from __future__ import annotations

from typing import Any

import jsonschema

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
ALLOWED_KEYS = {
    "description",
    "type",
    "format",
    "properties",
    "items",
    "required",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "additionalProperties",
    "nullable",
    "anyOf",
    PRESERVE,
    INT_OR_STRING,
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}
INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def structural_problems(node: Any, path: str = "") -> list[str]:
    """Every way `node` breaks the rules, as `path: problem` lines (empty: structural)."""
    where = path or "(root)"
    if not isinstance(node, dict):
        return [f"{where}: a schema must be a mapping, got {node!r}"]
    problems = [f"{where}: key {key!r} is not allowed" for key in node if key not in ALLOWED_KEYS]
    untyped_ok = node.get(PRESERVE) is True or node.get(INT_OR_STRING) is True
    if "type" not in node and not untyped_ok:
        problems.append(f"{where}: no type (only preserve-unknown-fields or int-or-string may)")
    if "type" in node and node["type"] not in TYPES:
        problems.append(f"{where}: unknown type {node['type']!r}")
    for exclusive in ("exclusiveMinimum", "exclusiveMaximum"):
        if exclusive in node and not isinstance(node[exclusive], bool):
            problems.append(f"{where}: {exclusive} must be true or false in OpenAPI 3.0")
    if "anyOf" in node and not (node.get(INT_OR_STRING) and node["anyOf"] == INT_OR_STRING_ANY_OF):
        problems.append(f"{where}: anyOf is only allowed as int-or-string")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{where}: properties and additionalProperties together")
    if node.get("additionalProperties") is False:
        problems.append(f"{where}: additionalProperties: false (the API server prunes instead)")
    if "properties" in node and node.get("type") != "object":
        problems.append(f"{where}: properties on a non-object")
    if "items" in node and node.get("type") != "array":
        problems.append(f"{where}: items on a non-array")
    if node.get("type") == "array" and not isinstance(node.get("items"), dict):
        problems.append(f"{where}: an array needs one items schema")
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            problems.append(f"{where}: required {name!r} is not a property")
    if node.get("x-kubernetes-list-type") == "map":
        keys = node.get("x-kubernetes-list-map-keys") or []
        item_required = node.get("items", {}).get("required", [])
        problems += [
            f"{where}: list map key {k!r} must be required" for k in keys if k not in item_required
        ]
    if "default" in node:
        try:
            jsonschema.Draft4Validator(node).validate(node["default"])
        except jsonschema.ValidationError as error:
            problems.append(f"{where}: default does not validate: {error.message}")
    for rule in node.get("x-kubernetes-validations", []):
        if not rule.get("rule") or not rule.get("message"):
            problems.append(f"{where}: a CEL validation needs rule and message")
    for name, child in node.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        if not isinstance(child, dict) or not child.get("description"):
            problems.append(f"{child_path}: no description")
        problems += structural_problems(child, child_path)
    if isinstance(node.get("items"), dict):
        problems += structural_problems(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += structural_problems(node["additionalProperties"], f"{path}{{}}")
    return problems
