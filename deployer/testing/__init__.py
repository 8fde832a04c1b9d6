"""Test toolkit (pytest plugin, local Kubernetes API stand-in, offline charts)."""
