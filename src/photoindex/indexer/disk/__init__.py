"""Free disk space: the filesystems under the data, and the gate that keeps writes out while one is short."""
