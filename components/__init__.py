"""Pulumi components of istio-eks-mesh, one module per concern."""
