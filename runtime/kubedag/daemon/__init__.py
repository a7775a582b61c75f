"""`kubedag daemon`: local loops that drive the run queue and run monitoring (schedules and
sensors join later). See `kubedag.daemon.daemon`."""
