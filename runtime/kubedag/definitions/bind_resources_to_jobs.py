"""`BindResourcesToJobs`: the reference's old way to ask for top-level resources on jobs.

`Definitions(jobs=BindResourcesToJobs([...]))` once told the reference to bind the
`Definitions`' resources to those jobs. Binding them is what `Definitions` does for every job
anyway, so this list changes nothing; it is kept so that code written that way still loads.
"""

from __future__ import annotations

from typing import Any


class BindResourcesToJobs(list[Any]):
    """A list of jobs to which the `Definitions`' resources are bound (as to every job)."""
