"""Backfills: materialize many partitions at once, one run per partition (or one run over a
range), tracked as one backfill with a status and progress.

- `kubedag.backfills.status`: the status and progress as pure functions of the runs' statuses.
- `kubedag.backfills.submission`: creating a backfill's runs, canceling it, refreshing its
  status (`update_backfill_statuses(instance)` for a daemon loop).
- storage: `Instance.add_backfill` / `get_backfill` / `get_backfills` / `update_backfill`.
"""
