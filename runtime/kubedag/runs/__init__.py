"""Runs: the run record and its statuses (coordinators and launchers join in later)."""
