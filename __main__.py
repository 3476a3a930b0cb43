"""istio-eks-mesh: a multi-cluster Istio mesh on EKS from one stack config."""

import pulumi

from components.config import load_aws_settings, load_last_deployment, load_mesh_spec
from components.mesh import IstioMesh, IstioMeshArgs

# What the stack last deployed (its own outputs), which later runs keep.
last = load_last_deployment()
# Validation runs before any resource exists: a bad config creates nothing.
spec = load_mesh_spec(last)
mesh = IstioMesh("mesh", IstioMeshArgs(spec=spec, aws=load_aws_settings(spec), last=last))

pulumi.export("clusters", mesh.cluster_outputs)
# Every root the clusters trust (one, or two during a rotation), and the one that signs.
pulumi.export("rootCertPem", mesh.root_bundle_pem)
pulumi.export("signingRootCertPem", mesh.signing_root_pem)
# Read back by the next run (load_last_deployment), which keeps them: the identity that has EKS's
# own admin entry, the add-on versions chosen for the cluster's Kubernetes version, the VPC ranges
# (and the IPAM pools they came from),
# which of two same-network clusters requests their peering, and when each reader token was made.
pulumi.export("clusterCreators", mesh.cluster_creators)
pulumi.export("addonVersions", mesh.addon_versions)
pulumi.export("vpcCidrs", mesh.vpc_cidrs)
pulumi.export("vpcIpamPools", mesh.vpc_ipam_pools)
pulumi.export("sameNetworkPairs", mesh.same_network_pairs)
pulumi.export("readerTokens", mesh.reader_tokens)
pulumi.export("mtls", mesh.mtls)
