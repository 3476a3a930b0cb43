"""Model layer: the frozen mesh and cluster specs, the topology decided from them, the revision
plan, and every pinned version. Pure: no Pulumi, no I/O; every other layer reads it."""
