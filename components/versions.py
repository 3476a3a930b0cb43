"""Every pinned version the program installs, in one place.

Bump a version here (or override `istioVersion` in stack config) and run the tests; nothing else in
the code names a version.
"""

# Istio release installed when the stack does not set `istioVersion`. Charts come from the official
# repository at exactly this version.
DEFAULT_ISTIO_VERSION = "1.30.3"
# The Helm values this program writes were checked against the 1.30 charts; older charts lack keys
# or spell them differently (and Helm ignores unknown keys without a word).
MIN_ISTIO_VERSION = (1, 30, 0)
ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"

# EKS versions accepted in `clusters[].kubernetesVersion`: those EKS offers (in standard or extended
# support) that the Istio releases above support (Istio 1.30: Kubernetes 1.32-1.36). The default is
# one in EKS standard support, so a new cluster costs the standard price.
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")
DEFAULT_KUBERNETES_VERSION = "1.35"
# End of EKS standard support per version (14 months after EKS released it); after it a
# cluster with `supportType: EXTENDED` costs the extended price for 12 more months, and one with
# STANDARD is upgraded by EKS to the next version. None: not published in the sources below yet.
# Sources: docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, endoflife.date/amazon-eks.
STANDARD_SUPPORT_ENDS = {
    "1.32": "2026-03-23",
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
    "1.36": None,
}
# EKS control plane price per cluster-hour, in USD (aws.amazon.com/eks/pricing).
STANDARD_SUPPORT_PRICE = 0.10
EXTENDED_SUPPORT_PRICE = 0.60
SUPPORT_TYPES = ("STANDARD", "EXTENDED")
# EKS add-ons this program manages per cluster. vpc-cni and kube-proxy are created by pulumi-eks
# inside eks.Cluster (before any node joins); coredns by this program, after the node group.
MANAGED_ADDONS = ("vpc-cni", "coredns", "kube-proxy")

# AWS Load Balancer Controller chart (eks-charts); since v3 the chart version equals the app's.
EKS_CHART_REPO = "https://aws.github.io/eks-charts"
LOAD_BALANCER_CONTROLLER_CHART_VERSION = "3.5.0"

# Sample workloads (`deploySamples`): Istio's helloworld app, which answers with $SERVICE_VERSION,
# and a curl client that only sleeps until `verify` execs into it.
HELLOWORLD_IMAGE = "registry.istio.io/release/examples-helloworld-v1:1.0"
CURL_IMAGE = "docker.io/curlimages/curl:8.16.0"
