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

# EKS versions accepted in `clusters[].kubernetesVersion`: those in EKS standard support that the
# Istio releases above support. The default is the newest of them that has been run with this mesh.
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35")
DEFAULT_KUBERNETES_VERSION = "1.34"

# AWS Load Balancer Controller chart (eks-charts); since v3 the chart version equals the app's.
EKS_CHART_REPO = "https://aws.github.io/eks-charts"
LOAD_BALANCER_CONTROLLER_CHART_VERSION = "3.5.0"

# Sample workloads (`deploySamples`): Istio's helloworld app, which answers with $SERVICE_VERSION,
# and a curl client that only sleeps until `verify` execs into it.
HELLOWORLD_IMAGE = "registry.istio.io/release/examples-helloworld-v1:1.0"
CURL_IMAGE = "docker.io/curlimages/curl:8.16.0"
