"""Istio layer: the mesh trust (root and intermediate CAs), each cluster's control plane and
east-west gateway from the official charts, revisions and tags, remote secrets, mesh-wide traffic
policy, and the sample workloads."""
