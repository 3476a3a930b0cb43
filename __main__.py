"""istio-eks-mesh: a multi-cluster Istio mesh on EKS from one stack config."""

import pulumi

from components.aws.reads import read_ipam_pools, read_transit_gateways
from components.config import load_last_deployment, load_stack_config, read_stack_values
from components.mesh import IstioMesh, IstioMeshArgs

# What the stack last deployed (its own outputs), which later runs keep.
last = load_last_deployment()
values = read_stack_values()
# Validation and the plan come before any resource exists, against the IPAM pools and the network
# team's Transit Gateways as AWS has them: a bad config creates nothing.
config = load_stack_config(
    values, last, read_ipam_pools(values.project.get("ipamPools")), read_transit_gateways(values.project)
)
mesh = IstioMesh("mesh", IstioMeshArgs(plan=config.plan, aws=config.aws))

# Named once, in components/plan/outputs.py, with what each holds; the next run reads some back.
for name, value in mesh.outputs.items():
    pulumi.export(name, value)
