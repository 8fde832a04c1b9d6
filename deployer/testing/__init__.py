"""Test toolkit (pytest plugin, local Kubernetes API stand-in, the real dependency charts for tests)."""
