"""Every pinned version the program installs, in one place.

Bump a version here (or override `istioVersion` in stack config) and run the tests; nothing else in
the code names a version.
"""

# Istio release installed when the stack does not set `istioVersion`: the newest patch release whose
# notes are published (istio.io/latest/news/releases/1.31.x/announcing-1.31.1/, 2026-09-21; the
# newest 1.30 patch is 1.30.5, the same day).
DEFAULT_ISTIO_VERSION = "1.31.1"
# The defaults Pulumi.yaml declared for `istioVersion` until 2026-12-03, which reached the program as
# if the stack had set them: next to `istioRevisions`, such a version ran as the unrevisioned release.
FORMER_PROJECT_DEFAULT_ISTIO_VERSIONS = ("1.30.3", "1.31.1")
# The Helm values this program writes were checked against the 1.30 and 1.31 charts (the render
# tier of the tests); older charts lack keys or spell them differently, and Helm ignores unknown
# keys without a word.
MIN_ISTIO_VERSION = (1, 30, 0)
# Where Istio's charts and images come from. The Google-hosted chart repository and registries are
# retired in December 2026 and never had 1.31 (istio.io blog "An update on our move to AWS",
# 2026-08-21); every release is at this repository, and as OCI artifacts at
# oci://ghcr.io/istio/release/charts. The published 1.30.x charts default `global.hub` to a retired
# registry, so the program always sets it.
ISTIO_CHART_REPOSITORY = "https://blob.istio.io/istio-release/charts"
ISTIO_IMAGE_HUB = "docker.io/istio"
# Chart repositories and image registries that no longer serve Istio: refused in config.
RETIRED_ISTIO_SOURCES = (
    "istio-release.storage.googleapis.com",
    "storage.googleapis.com/istio-release",
    "gcr.io/istio-release",
    "registry.istio.io/release",
    # Istio's development builds (every commit, unsigned, no support) on the same retired registry;
    # never a release source, so a hub pointing there is a mistake either way.
    "gcr.io/istio-testing",
    "registry.istio.io/testing",
)

# Istio's support window per minor: release date and end of life. A minor is supported until six
# weeks after the release of the minor two after it (istio.io/latest/docs/releases/supported-releases/);
# None: that release is not out yet (no 1.32.0 notes as of 2026-12-02), so the end is not known.
# Release dates from the announcements (announcing-1.30, announcing-1.31; some translations give
# 2026-08-31 for 1.31.0). Both minors support Kubernetes 1.32-1.36 ("officially supported on
# Kubernetes versions 1.32 to 1.36", announcing-1.31).
ISTIO_MINORS = {
    "1.30": {"released": "2026-05-18", "end_of_life": None},
    "1.31": {"released": "2026-08-20", "end_of_life": None},
}
# The warning comes this long before the end of life.
ISTIO_END_OF_LIFE_NOTICE_DAYS = 42
# Minors come about every three months and live about eight: a minor older than this with no end
# recorded means this table is stale, which is a warning too.
ISTIO_UNKNOWN_END_AFTER_DAYS = 240
# Patch releases with published security fixes, per minor: (first fixed patch, bulletin). A version of
# that minor below the patch lacks the fixes (istio.io/latest/news/security/istio-security-2026-006/,
# 2026-08-26: 13 Envoy CVEs and Istio ones, fixed in 1.30.4; 1.31.0 shipped with the fixes). 1.31.1
# ships fixes 1.31.0 lacks, GHSA-qm8v-g4f9-qhjx among them (the advisory on github.com/istio/istio;
# as the review behind this project's issue 35 lists it, not checked against the advisory text here).
ISTIO_SECURITY_FIXES = {
    "1.30": (4, "ISTIO-SECURITY-2026-006"),
    "1.31": (1, "GHSA-qm8v-g4f9-qhjx"),
}

# EKS versions accepted in `clusters[].kubernetesVersion`: those EKS offers (in standard or extended
# support) that the Istio releases above support (Istio 1.30 and 1.31: Kubernetes 1.32-1.36).
# 1.36: "Kubernetes 1.36 is now available in Amazon EKS" (docs.aws.amazon.com/eks/latest/userguide/
# kubernetes-versions-standard.html, read 2026-12-07). The default, for new clusters only (a deployed
# cluster keeps the version the stack recorded for it), is the newest: standard support the longest.
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")
DEFAULT_KUBERNETES_VERSION = "1.36"
# When EKS released each version (its 14 months of standard support start here).
KUBERNETES_RELEASED = {
    "1.32": "2025-01-25",
    "1.33": "2025-05-28",
    "1.34": "2025-10-06",
    "1.35": "2026-01-28",
    "1.36": "2026-06-02",
}
# End of EKS standard support per version (14 months after EKS released it); after it a
# cluster with `supportType: EXTENDED` costs the extended price for 12 more months, and one with
# STANDARD is upgraded by EKS to the next version. Past the end of extended support EKS offers the
# version no more and upgrades every cluster on it. A cluster that has entered extended support
# cannot go back to STANDARD (docs.aws.amazon.com/eks/latest/userguide/disable-extended-support.html).
# Sources: docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html ("standard support ...
# for the first 14 months", "extended support for the next 12 months"), endoflife.date/amazon-eks
# (1.32-1.35); 1.36: released on EKS 2026-06-02, standard support through 2027-08-02
# (devopsdreams.blogspot.com/2026/08/kubernetes-136-on-amazon-eks-upgrade.html; EKS's own calendar
# table did not list 1.36 when checked), extended 12 months more.
STANDARD_SUPPORT_ENDS = {
    "1.32": "2026-03-23",
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
    "1.36": "2027-08-02",
}
EXTENDED_SUPPORT_ENDS = {
    "1.32": "2027-03-23",
    "1.33": "2027-07-29",
    "1.34": "2027-12-02",
    "1.35": "2028-03-27",
    "1.36": "2028-08-02",
}
# The table above is stale this long before its newest version leaves standard support: by then EKS
# offers the next one (a minor about every four months), and new clusters should get it. A test
# fails from that day (tests/test_eks_versions_and_access.py), so the table is refreshed in time.
VERSION_TABLE_NOTICE_DAYS = 90
# EKS's prices per cluster-hour (standard and extended): components/model/prices.py.
SUPPORT_TYPES = ("STANDARD", "EXTENDED")
# EKS add-ons this program manages per cluster. vpc-cni and kube-proxy are created by pulumi-eks
# inside eks.Cluster (before any node joins); coredns by this program, after the node group.
MANAGED_ADDONS = ("vpc-cni", "coredns", "kube-proxy")
# Made where vpc-cni has its own role (components/aws/cni_identity.py), its version recorded with
# the others: the record tells the next run the cluster has it.
POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"

# AWS Load Balancer Controller chart (eks-charts); since v3 the chart version equals the app's.
EKS_CHART_REPOSITORY = "https://aws.github.io/eks-charts"
LOAD_BALANCER_CONTROLLER_CHART_VERSION = "3.5.0"

# Sample workloads (`deploySamples`): Istio's helloworld app, which answers with $SERVICE_VERSION,
# and a curl client that only sleeps until `verify` execs into it.
# helloworld from Docker Hub, where Istio publishes the samples' images beside its own (the copy on
# registry.istio.io goes with that registry in December 2026).
HELLOWORLD_IMAGE = "docker.io/istio/examples-helloworld-v1:1.0"
CURL_IMAGE = "docker.io/curlimages/curl:8.16.0"
