"""`python -m kubedag_operator [OPTIONS]`: the same as `kubedag operator` (namespaces, peering,
liveness and metrics endpoints: `kubedag operator --help`)."""

import sys

from kubedag.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["operator", *sys.argv[1:]]))
