"""`kubedag daemon`: local loops that drive the run queue, run monitoring, schedules, sensors,
declarative automation and backfill statuses. See `kubedag.daemon.daemon`."""
