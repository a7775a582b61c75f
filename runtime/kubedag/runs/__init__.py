"""Runs: the record and its statuses, and everything that moves a run along.

- `run`: the `Run` record and `RunStatus`; `transitions`: which status changes are allowed;
- `coordinators`: when a submitted run launches (at once, or queued); `queue`: which queued runs
  may start (a pure function); `dequeuer`: launches them, once each, under a lock;
- `launchers`: where a run's worker runs (local processes; Kubernetes pods later);
- `worker`: `kubedag run-worker RUN_ID`, which executes a launched run; `code_pointer`: where
  its code is;
- `lifecycle`: launch, cancel, fail, resume — each a status change plus its event;
- `monitoring`: what to do about runs whose worker died, hung or overran;
- `tags`: the run tags and key-value entries kubedag itself reads.

See docs/run-lifecycle.md.
"""
