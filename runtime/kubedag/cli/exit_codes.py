"""Exit codes, part of the command line's interface, and the error that means "exit 2".

Scripts and CI tell outcomes apart by them:
- 0 (`EXIT_OK`): the command did what was asked;
- 1 (`EXIT_RUN_FAILED`): `materialize` started a run and the run failed;
- 2 (`EXIT_USAGE`): nothing was done, because the command line, the code location, the run
  config or the instance is wrong, or names something that is not there;
- 130 (`EXIT_INTERRUPTED`): Ctrl-C.
"""

from __future__ import annotations

from kubedag.errors import KubedagError

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(KubedagError):
    """The command line names something that is not there (a run id, a step of a run); the
    message says what exists instead."""
