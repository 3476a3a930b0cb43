"""istio-eks-mesh: a multi-cluster Istio mesh on EKS from one stack config."""

import pulumi

from components.aws.reads import read_ipam_pools
from components.config import load_last_deployment, load_stack_config, read_stack_values
from components.mesh import IstioMesh, IstioMeshArgs

# What the stack last deployed (its own outputs), which later runs keep.
last = load_last_deployment()
values = read_stack_values()
# Validation runs before any resource exists, against the IPAM pools as AWS has them: a bad config
# creates nothing.
config = load_stack_config(values, last, read_ipam_pools(values.project.get("ipamPools")))
mesh = IstioMesh("mesh", IstioMeshArgs(spec=config.spec, aws=config.aws, last=last))

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
# Per region, the Prometheus endpoint of its metrics workspace (`metrics: amp`).
pulumi.export("metricsEndpoints", mesh.metrics_endpoints)
