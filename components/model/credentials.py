"""The reader tokens the clusters hand each other (remote secrets), as a plan: which generation
each cluster's token is, and when that token was made. Pure; `components/config/credentials.py`
builds it from the config and what the stack recorded, `components/istio/remote_secrets.py` makes it.

A token is a `kubernetes.io/service-account-token` Secret: it has no expiry, and the legacy-token
cleaner leaves it alone (it removes only auto-generated tokens, those a ServiceAccount's `secrets`
field references: KEP-2799, kubernetes pkg/controller/serviceaccount/legacy_serviceaccount_token_cleaner.go).
Its life ends only when its Secret is deleted: the API server's legacy-token authenticator looks
the Secret up on every request (kubernetes pkg/serviceaccount/legacy.go). Rotation is therefore a
new Secret per generation.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

# The generation every stack had before rotation existed; its Secret keeps the name it always had.
FIRST_GENERATION = 1
# The largest generation accepted: keeps the Secret's name short and a typo (1e9) out.
MAX_GENERATION = 9999
# Past this age, `pulumi up` and `python -m check` warn. A project policy, not a Kubernetes limit:
# a quarter, the rotation period many compliance baselines ask of long-lived credentials, and short
# enough that a token copied out of a primary (or out of the Pulumi state) does not stay useful for long.
MAX_AGE = datetime.timedelta(days=90)

# The account the base chart makes for the other clusters' istiods, and its tokens' Secret.
READER_SERVICE_ACCOUNT = "istio-reader-service-account"
TOKEN_SECRET = "istio-reader-service-account-istio-remote-secret-token"


def token_secret_name(generation: int) -> str:
    """The token Secret of a generation: the first keeps the name deployed stacks have."""
    return TOKEN_SECRET if generation == FIRST_GENERATION else f"{TOKEN_SECRET}-{generation}"


@dataclass(frozen=True)
class TokenRecord:
    generation: int
    # When this generation's token was made (ISO 8601, UTC), as far as the stack knows: a stack
    # deployed before it recorded this counts from its first run that did.
    created_at: str


@dataclass(frozen=True)
class ReaderTokens:
    generation: int = FIRST_GENERATION
    # Per cluster, its token of `generation`.
    records: Mapping[str, TokenRecord] = field(default_factory=dict)

    def output(self) -> dict[str, dict]:
        """The `readerTokens` stack output, read back by the next run."""
        return {c: {"generation": r.generation, "createdAt": r.created_at} for c, r in self.records.items()}


def plan_reader_tokens(
    generation: int, clusters: list[str], recorded: Mapping[str, TokenRecord], now: datetime.datetime
) -> ReaderTokens:
    """A cluster keeps its recorded date while its generation stays; a new generation (or a cluster
    never recorded) is made now."""
    stamp = now.astimezone(datetime.UTC).replace(microsecond=0).isoformat()
    records = {}
    for name in clusters:
        last = recorded.get(name)
        records[name] = last if last and last.generation == generation else TokenRecord(generation, stamp)
    return ReaderTokens(generation=generation, records=records)


def age_notices(tokens: ReaderTokens, now: datetime.datetime) -> list[str]:
    """Clusters whose reader token is older than MAX_AGE, in one notice."""
    old = []
    for name, record in tokens.records.items():
        try:
            made = datetime.datetime.fromisoformat(record.created_at)
        except ValueError:
            continue
        if made.tzinfo is None:
            made = made.replace(tzinfo=datetime.UTC)
        age = now - made
        if age > MAX_AGE:
            old.append(f"{name} ({age.days} days, since {made.date().isoformat()})")
    if not old:
        return []
    return [
        f"readerTokenGeneration: the reader tokens of {', '.join(old)} are older than {MAX_AGE.days} days;"
        f" set readerTokenGeneration to {tokens.generation + 1} and run `pulumi up` to rotate them"
        " (docs/concepts/credentials-between-clusters.md)"
    ]


# What a primary's istiod does with a remote's reader token, and so all the remote's reader may do:
# the istiod chart's reader ClusterRole (templates/reader-clusterrole.yaml, the same rules in 1.30.3
# and 1.31) without what only a primary leading the remote would use. Dropped:
# - `istiodRemote.enabled`'s update/patch of the webhook configurations and create/update of
#   ConfigMaps: the webhook cert patcher and namespace controller of a primary with EXTERNAL_ISTIOD
#   (pilot/pkg/serviceregistry/kube/controller/multicluster.go, `checkShouldLead`), which no
#   primary here has; the remote's local istiod writes both with its own account;
# - create/delete of MCS `serviceexports`: only with ENABLE_MCS_SERVICE_DISCOVERY (off by default,
#   pilot/pkg/features/experimental.go; serviceexportcache.go).
# Kept, all read-only but for the two reviews: discovery, the Secrets the credentials controller
# watches (docs/concepts/credentials-between-clusters.md says why that cannot go), and the reviews
# with which the primary authenticates the remote's proxies.
_READ = ["get", "list", "watch"]
READER_RULES = (
    {
        "apiGroups": [
            "config.istio.io",
            "security.istio.io",
            "networking.istio.io",
            "authentication.istio.io",
            "rbac.istio.io",
            "telemetry.istio.io",
            "extensions.istio.io",
        ],
        "resources": ["*"],
        "verbs": _READ,
    },
    {
        "apiGroups": [""],
        "resources": [
            "endpoints",
            "pods",
            "services",
            "nodes",
            "replicationcontrollers",
            "namespaces",
            "secrets",
            "configmaps",
        ],
        "verbs": _READ,
    },
    # Covered by the `*` above; named as the chart names it.
    {"apiGroups": ["networking.istio.io"], "resources": ["workloadentries"], "verbs": _READ},
    {"apiGroups": ["networking.x-k8s.io", "gateway.networking.k8s.io"], "resources": ["gateways"], "verbs": _READ},
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": _READ},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
    {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceexports", "serviceimports"], "verbs": _READ},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": _READ},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
)
# The ClusterRole (and its binding) a remote's reader gets instead of the chart's.
READER_ROLE = "istio-eks-mesh-reader"
