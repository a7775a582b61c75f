"""`python -m kubedag_operator [--namespace NS ...] [--all-namespaces] [--peering NAME]
[--standalone]`: the same as `kubedag operator`."""

import sys

from kubedag.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["operator", *sys.argv[1:]]))
