"""pytest fixtures for the local Kubernetes API stand-in (kube_cluster)."""
