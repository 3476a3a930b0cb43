"""Plan layer: the program's decisions, made once from the validated model and what the stack last
deployed, as plain values: the topology and build order, Istio's Helm values, add-on versions, the
clusters' creators. Pure (no Pulumi): config checks against it, aws/ and istio/ build what it says."""
