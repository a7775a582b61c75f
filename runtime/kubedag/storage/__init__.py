"""Storage: where runs and their events are kept (in memory now; SQL storages build on this)."""
