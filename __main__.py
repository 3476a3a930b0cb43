"""istio-eks-mesh: a multi-cluster Istio mesh on EKS from one stack config."""

import pulumi

from components.config import load_aws_settings, load_mesh_spec
from components.mesh import IstioMesh, IstioMeshArgs

# Validation runs before any resource exists: a bad config creates nothing.
spec = load_mesh_spec()
mesh = IstioMesh("mesh", IstioMeshArgs(spec=spec, aws=load_aws_settings(spec)))

pulumi.export("clusters", mesh.cluster_outputs)
# Every root the clusters trust (one, or two during a rotation), and the one that signs.
pulumi.export("rootCertPem", mesh.root_bundle_pem)
pulumi.export("signingRootCertPem", mesh.signing_root_pem)
