"""Every runnable code example of the user-facing reference, run against kubedag."""
