"""Resources: connections to external systems, and I/O managers that store step outputs."""
