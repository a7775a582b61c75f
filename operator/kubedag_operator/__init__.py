"""kubedag's Kubernetes operator: custom resources (pydantic models, the single source of the
CRDs in `crds/`) and the kopf handlers that reconcile them by calling the `kubedag` runtime.

- `kubedag_operator.resources`: the custom resources of group `kubedag.io`, version
  `v1alpha1` (`Instance`, `CodeLocation`, `Job`, `Schedule`, `Run`) as pydantic models, the
  helpers that read them (`RunResource.parse(body)`, errors naming the field) and set their
  conditions, and the generator of `crds/` (`python -m kubedag_operator.resources.crd`).
"""
