"""How an east-west gateway pod leaves its NLB without dropping what the NLB still sends it.

When a gateway pod is deleted (a rollout, a node drain, a scale-in), Kubernetes marks its endpoint
terminating, runs the container's preStop hook, then sends SIGTERM and kills it after
`terminationGracePeriodSeconds` (kubernetes.io docs, concepts/workloads/pods/pod-lifecycle,
"Termination of Pods"). The load balancer controller drops a terminating endpoint from the target
group at its next reconcile (aws-load-balancer-controller pkg/backend/endpoint_resolver.go,
v3.5.0); the NLB then sends the target no new connections, keeps the existing ones for the
deregistration delay, and with connection termination closes them at its end
(the controller's service annotations guide, target-group-attributes, v3.5.0; ELB docs,
network/load-balancer-target-groups.html#deregistration-delay). EKS best practices
(best-practices/load-balancing.html) put a preStop delay in front of the pod's shutdown for this.

So the pod keeps serving, unchanged, through the controller's reaction and the whole delay; only
then does SIGTERM start Envoy's drain (`terminationDrainDuration`, 5 s by default: istio
pkg/config/mesh/mesh.go, 1.30.3), all inside the grace period. The same NLB carries a primary's
istiod port 15012 for its remotes: its target group takes the same attributes (they are the
Service's, for every port), and its pods are the same gateway pods.
"""

from __future__ import annotations

# Set explicitly: the NLB's default is 300 s, which with the rest would exceed the few minutes (5, in
# the user guide's English text) EKS waits for a node's pods to drain when a managed node group is
# deleted before it lets Auto Scaling terminate the instance anyway
# (docs.aws.amazon.com/eks/latest/userguide/delete-managed-node-group.html; an update waits 15
# minutes per node, managed-node-update-behavior.html). Two minutes let a
# pass-through mTLS stream (opaque to the gateway, which cannot drain it) finish most requests; one
# still open then is closed by the NLB while the pod is alive, and the client sidecar reconnects
# through another gateway pod, rather than meeting a pod that is gone.
DEREGISTRATION_DELAY_SECONDS = 120
# From the endpoint turning terminating to the NLB no longer opening connections to the target:
# the controller's reconcile and the DeregisterTargets call, and the NLB's own propagation. Not a
# documented figure; a margin of several times what the controller's logs show for one reconcile.
DEREGISTRATION_REACTION_SECONDS = 15
# Istio's default terminationDrainDuration (istio pkg/config/mesh/mesh.go, 1.30.3): after SIGTERM.
ENVOY_DRAIN_SECONDS = 5
# Margin between Envoy's exit and the kubelet's SIGKILL.
EXIT_MARGIN_SECONDS = 10

PRE_STOP_SECONDS = DEREGISTRATION_REACTION_SECONDS + DEREGISTRATION_DELAY_SECONDS
TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + ENVOY_DRAIN_SECONDS + EXIT_MARGIN_SECONDS

TARGET_GROUP_ATTRIBUTES_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
TARGET_GROUP_ATTRIBUTES = (
    f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS},"
    "deregistration_delay.connection_termination.enabled=true"
)


def gateway_drain_values() -> dict:
    """The gateway chart's values for it (values.yaml: `lifecycle`, `terminationGracePeriodSeconds`).
    The preStop hook is Kubernetes' own `sleep` action (PodLifecycleSleepAction, on by default since
    1.30; every EKS version this program runs), so no shell is needed in the proxy image."""
    return {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
    }
