"""`python -m kubedag ...`: the same as the `kubedag` command (run workers are started this way,
so they need no console script on PATH, only the interpreter that launched them)."""

import sys

from kubedag.cli.main import main

sys.exit(main())
