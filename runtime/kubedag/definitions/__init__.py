"""Declarations: assets, ops, graphs, jobs, checks and selections. Pure data, no I/O."""
