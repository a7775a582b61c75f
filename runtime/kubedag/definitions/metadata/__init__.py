"""Metadata: typed values attached to assets, runs and events (`values`), table schemas and
column lineage (`table`), and links from an asset to its source code (`code_references`)."""
