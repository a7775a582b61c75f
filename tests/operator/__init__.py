"""Tests of kubedag_operator: custom resource models, generated CRDs and handlers."""
