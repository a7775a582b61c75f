"""kubedag's Kubernetes operator: custom resources (pydantic models, the single source of the
CRDs in `crds/`) and the kopf handlers that reconcile them by calling the `kubedag` runtime."""
