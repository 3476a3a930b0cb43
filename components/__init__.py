"""Pulumi components of istio-eks-mesh, in packages by layer, imports running downward only:
`model` (pure specs and versions) <- `config` (reads and validates the stack config into the model)
and `aws` / `istio` (the resources, each reading the model, never each other) <- `mesh.py` (the
wiring, which uses them all). `migrations.py` holds the aliases of renamed resources."""
