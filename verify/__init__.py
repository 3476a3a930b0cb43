"""`python -m verify`: checks that a deployed mesh works, cluster by cluster, and says why not."""
