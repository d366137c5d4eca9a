"""Operator commands: the `peerdoor` command line, reports, exports, keys, backups."""
