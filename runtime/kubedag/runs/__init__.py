"""Runs: everything that moves a run along.

- the `Run` record, `RunStatus` and the allowed transitions live in `kubedag.records`;
- `coordinators`: when a submitted run launches (at once, or queued); `queue`: which queued runs
  may start (a pure function); `dequeuer`: launches them, once each, under a lock;
- `launchers`: where a run's worker runs (local processes; Kubernetes pods later);
- `worker`: `kubedag run-worker RUN_ID`, which executes a launched run (where its code is:
  `kubedag.code_location.code_pointer`);
- `lifecycle`: launch, cancel, fail, resume — each a status change plus its event;
- `monitoring`: what to do about runs whose worker died, hung or overran;
- `tags`: the run tags and key-value entries kubedag itself reads.

See docs/run-lifecycle.md.
"""
