"""`kubedag manifests`: a code location's `CodeLocation`, `Job` and `Schedule` objects as YAML.

For GitOps: the objects that deploy a code location are derived from its definitions, written
to a Git repository and applied by Argo CD, Flux or `kubectl apply --server-side`. Deriving them
(`objects`) and naming them (`names`) are pure functions of the definitions; writing them
(`render`) gives the same bytes for the same code. The command itself is
`kubedag.cli.manifests_cmd`; see docs/manifests.md.
"""

from kubedag.manifests.names import object_name, object_names
from kubedag.manifests.objects import Manifests, ManifestTarget, build_manifests
from kubedag.manifests.render import render_manifests

__all__ = [
    "ManifestTarget",
    "Manifests",
    "build_manifests",
    "object_name",
    "object_names",
    "render_manifests",
]
