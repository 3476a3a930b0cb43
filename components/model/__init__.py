"""Model layer: the frozen mesh and cluster specs and the shape of their topology, the revision plan,
what the stack last deployed, and every pinned version. Pure: no Pulumi, no I/O; every other layer
reads it."""
