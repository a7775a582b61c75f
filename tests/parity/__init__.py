"""Reference API parity: each area of the reference's public names, imported from kubedag and
checked to behave as the reference documents it."""
