"""The instance: the storages and directories a deployment of kubedag shares."""
